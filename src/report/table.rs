//! A plain table for long listings (`history` of every workload over 10,000 commits: 500,000
//! rows), drawn as `tabled`'s `Style::sharp()` draws one, without keeping a string per cell:
//! the cells of a run of rows share one buffer. The rows are made and drawn on every CPU (up to
//! four), each a run of them, and written out in order.

use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::ops::Range;

use unicode_width::UnicodeWidthStr;

/// Rows of text cells, the first being the header.
pub struct Table {
    columns: usize,
    /// Runs of consecutive rows; the header is the first row of the first.
    parts: Vec<Part>,
}

/// Consecutive rows of a table.
struct Part {
    /// Every cell's text, one after the other.
    text: String,
    /// Where each cell ends in `text`, row after row.
    ends: Vec<usize>,
    /// The widest cell of each column, in terminal columns.
    widths: Vec<usize>,
    /// Cells kept for the next rows.
    shared: Vec<Shared>,
}

/// The cells of the row being made, written straight into the table's buffer.
pub struct Cells<'a> {
    part: &'a mut Part,
    /// Cells of this row so far.
    n: usize,
}

/// A cell's text kept for the next rows, by what it was made from (see [`Cells::push_shared`]).
struct Shared {
    column: usize,
    from: usize,
    text: String,
}

impl Cells<'_> {
    /// The next cell, made by `make` from the text at address `from` unless the previous row
    /// made this column's cell from the same text (the commit of 50 consecutive rows): then that
    /// cell again. The texts must outlive the table being made, so that an address is one text.
    pub fn push_shared(&mut self, from: usize, make: impl FnOnce(&mut String)) {
        let column = self.n;
        let shared = &mut self.part.shared;
        let i = match shared.iter().position(|s| s.column == column) {
            Some(i) => i,
            None => {
                shared.push(Shared {
                    column,
                    from: 0,
                    text: String::new(),
                });
                shared.len() - 1
            }
        };
        if shared[i].from != from || from == 0 {
            shared[i].from = from;
            shared[i].text.clear();
            make(&mut shared[i].text);
        }
        self.part.text.push_str(&self.part.shared[i].text);
        self.end();
    }

    /// Appends `text` to the cell made last.
    pub fn append(&mut self, text: &str) {
        if self.n == 0 {
            return;
        }
        self.part.ends.pop();
        self.n -= 1;
        self.part.text.push_str(text);
        self.end();
    }

    /// The next cell.
    pub fn push(&mut self, cell: &str) {
        self.part.text.push_str(cell);
        self.end();
    }

    /// The next cell, formatted.
    pub fn push_fmt(&mut self, cell: fmt::Arguments<'_>) {
        // Writing to a String cannot fail.
        let _ = self.part.text.write_fmt(cell);
        self.end();
    }

    fn end(&mut self) {
        let start = self.part.ends.last().copied().unwrap_or(0);
        let cell = &self.part.text[start..];
        if let Some(w) = self.part.widths.get_mut(self.n) {
            *w = (*w).max(width(cell));
        }
        self.part.ends.push(self.part.text.len());
        self.n += 1;
    }
}

/// A cell's width in terminal columns.
fn width(cell: &str) -> usize {
    if cell.is_ascii() {
        cell.len()
    } else {
        cell.width()
    }
}

impl Part {
    fn new(columns: usize) -> Self {
        Part {
            text: String::new(),
            ends: Vec::new(),
            widths: vec![0; columns],
            shared: Vec::new(),
        }
    }

    /// Adds a row of the cells `row` writes: as many as the header has (a short row is filled
    /// with empty cells, as tabled fills it; cells beyond are left out).
    fn push_with(&mut self, columns: usize, row: impl FnOnce(&mut Cells<'_>)) {
        let row_start = self.ends.len();
        let text_start = self.text.len();
        let mut cells = Cells { part: self, n: 0 };
        row(&mut cells);
        let n = cells.n;
        if n > columns {
            let end = match columns {
                0 => text_start,
                c => self.ends[row_start + c - 1],
            };
            self.ends.truncate(row_start + columns);
            self.text.truncate(end);
            // The widths of the cells left out were never counted (`widths` has `columns`).
        }
        for _ in n..columns {
            self.ends.push(self.text.len());
        }
    }

    fn rows(&self, columns: usize) -> usize {
        self.ends.len() / columns.max(1)
    }
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        let columns = header.len();
        let mut first = Part::new(columns);
        first.push_with(columns, |cells| {
            for h in header {
                cells.push(h);
            }
        });
        Table {
            columns,
            parts: vec![first],
        }
    }

    /// Adds a row; it should have as many cells as the header.
    #[cfg(test)]
    pub fn push<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) {
        let columns = self.columns;
        if let Some(last) = self.parts.last_mut() {
            last.push_with(columns, |row| {
                for cell in cells {
                    row.push(cell.as_ref());
                }
            });
        }
    }

    /// Adds a row for each of `items`, in their order, of the cells `row` writes; made on
    /// every CPU (up to four) when there are many.
    pub fn extend<T: Sync>(&mut self, items: &[T], row: impl Fn(&T, &mut Cells<'_>) + Sync) {
        let columns = self.columns;
        let parts = crate::parallel::in_runs(items, |run| {
            let mut part = Part::new(columns);
            for item in run {
                part.push_with(columns, |cells| row(item, cells));
            }
            part
        });
        self.parts
            .extend(parts.into_iter().filter(|p| !p.ends.is_empty()));
    }

    /// Writes the table with box-drawing lines, the columns in `right` aligned right.
    pub fn write(&self, right: Range<usize>, out: &mut dyn Write) -> io::Result<()> {
        let mut widths = vec![0; self.columns];
        for part in &self.parts {
            for (w, p) in widths.iter_mut().zip(&part.widths) {
                *w = (*w).max(*p);
            }
        }
        let rule = |left: &str, middle: &str, end: &str| {
            let mut line = String::from(left);
            for (i, w) in widths.iter().enumerate() {
                if i > 0 {
                    line.push_str(middle);
                }
                line.push_str(&"─".repeat(w + 2));
            }
            line.push_str(end);
            line
        };
        let rows: usize = self.parts.iter().map(|p| p.rows(self.columns)).sum();
        writeln!(out, "{}", rule("┌", "┬", "┐"))?;
        let draw = Draw {
            columns: self.columns,
            widths: &widths,
            right: &right,
        };
        // The header, then its rule, then the rows a block at a time, each block drawn on every
        // CPU: the whole table drawn at once would be as large as the output again.
        let mut header = Vec::new();
        if let Some(first) = self.parts.first() {
            draw.rows(first, 0..1.min(first.rows(self.columns)), &mut header);
        }
        out.write_all(&header)?;
        if rows > 1 {
            writeln!(out, "{}", rule("├", "┼", "┤"))?;
        }
        // Every row but the header, as (part, rows of it), in order.
        let mut runs: Vec<(&Part, Range<usize>)> = Vec::new();
        for (i, part) in self.parts.iter().enumerate() {
            let start = usize::from(i == 0);
            let mut at = start;
            let end = part.rows(self.columns);
            while at < end {
                let to = (at + BLOCK).min(end);
                runs.push((part, at..to));
                at = to;
            }
        }
        for round in runs.chunks(crate::parallel::threads()) {
            let blocks = crate::parallel::each_on_a_thread(round, |(part, range)| {
                let mut buf = Vec::new();
                draw.rows(part, range.clone(), &mut buf);
                buf
            });
            for block in blocks {
                out.write_all(&block)?;
            }
        }
        write!(out, "{}", rule("└", "┴", "┘"))
    }
}

/// Rows drawn at once by one thread.
const BLOCK: usize = 8192;

/// What drawing a row needs to know of the whole table.
struct Draw<'a> {
    columns: usize,
    widths: &'a [usize],
    right: &'a Range<usize>,
}

impl Draw<'_> {
    /// Draws `rows` of `part`, a line each, into `buf`.
    fn rows(&self, part: &Part, rows: Range<usize>, buf: &mut Vec<u8>) {
        let mut start = match rows.start {
            0 => 0,
            r => part.ends[r * self.columns - 1],
        };
        let mut line = String::new();
        for row in rows {
            line.clear();
            for c in 0..self.columns {
                let end = part.ends[row * self.columns + c];
                let cell = &part.text[start..end];
                start = end;
                let pad = self.widths[c].saturating_sub(width(cell));
                line.push_str("│ ");
                if self.right.contains(&c) {
                    line.extend(std::iter::repeat_n(' ', pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', pad));
                }
                line.push(' ');
            }
            line.push_str("│\n");
            buf.extend_from_slice(line.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Table;
    use tabled::builder::Builder;
    use tabled::settings::object::Columns;
    use tabled::settings::{Alignment, Style};

    /// The same rows drawn by tabled, which `history` used before.
    fn tabled(rows: &[Vec<String>]) -> String {
        let mut b = Builder::default();
        for r in rows {
            b.push_record(r.iter().cloned());
        }
        let mut table = b.build();
        table
            .with(Style::sharp())
            .modify(Columns::new(1..3), Alignment::right());
        table.to_string()
    }

    fn rows(strs: &[&[&str]]) -> Vec<Vec<String>> {
        strs.iter()
            .map(|r| r.iter().map(|s| s.to_string()).collect())
            .collect()
    }

    #[test]
    fn draws_what_tabled_draws() {
        let rows = rows(&[
            &["commit", "n", "median", "subject"],
            &["abc", "10", "1.0 ms", "plain"],
            &["défg", "7", "12.25 s", "wide 漢字 text"],
            &["", "100", "-", "x"],
        ]);
        let header: Vec<&str> = rows[0].iter().map(String::as_str).collect();
        let mut t = Table::new(&header);
        for r in &rows[1..] {
            t.push(r.iter());
        }
        let mut out = Vec::new();
        t.write(1..3, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), tabled(&rows));
    }

    #[test]
    fn rows_made_on_many_threads_draw_as_rows_pushed_one_by_one() {
        // More rows than one thread makes and than one block draws, of varying widths, with
        // the widest cell of a column near the end (the widths of every run count).
        let items: Vec<usize> = (0..20_000).collect();
        let row = |i: &usize| -> Vec<String> {
            vec![
                format!("c{i}"),
                (i % 97).to_string(),
                if *i == 19_990 {
                    "ü".repeat(30)
                } else {
                    "-".repeat(i % 7)
                },
            ]
        };
        let mut one = Table::new(&["commit", "n", "text"]);
        for i in &items {
            one.push(row(i));
        }
        let mut many = Table::new(&["commit", "n", "text"]);
        many.extend(&items, |i, cells| {
            cells.push_fmt(format_args!("c{i}"));
            cells.push(&(i % 97).to_string());
            // A short row is filled with an empty cell.
            if i % 7 != 0 || *i == 19_990 {
                cells.push(&row(i)[2]);
            }
        });
        let (mut a, mut b) = (Vec::new(), Vec::new());
        one.write(1..2, &mut a).unwrap();
        many.write(1..2, &mut b).unwrap();
        assert_eq!(a.len(), b.len());
        assert!(a == b, "the tables differ");
        let text = String::from_utf8(b).unwrap();
        assert_eq!(text.lines().count(), 20_000 + 4);
        assert!(text.contains(&format!(
            "│ c19990 │ {:>2} │ {} │",
            19_990 % 97,
            "ü".repeat(30)
        )));
    }
}
