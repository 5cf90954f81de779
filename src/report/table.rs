//! A plain table for long listings (`history` of every workload over 10,000 commits: 500,000
//! rows), drawn as `tabled`'s `Style::sharp()` draws one, without keeping a string per cell:
//! the cells of every row share one buffer, and rows are written out one at a time.

use std::io::{self, Write};
use std::ops::Range;

use unicode_width::UnicodeWidthStr;

/// Rows of text cells, the first being the header.
pub struct Table {
    /// Every cell's text, one after the other.
    text: String,
    /// Where each cell ends in `text`, row after row.
    ends: Vec<usize>,
    columns: usize,
    /// The widest cell of each column, in terminal columns.
    widths: Vec<usize>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        let mut t = Table {
            text: String::new(),
            ends: Vec::new(),
            columns: header.len(),
            widths: vec![0; header.len()],
        };
        t.push(header.iter().copied());
        t
    }

    /// Adds a row; it must have as many cells as the header.
    pub fn push<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) {
        let mut n = 0;
        for (i, cell) in cells.into_iter().enumerate().take(self.columns) {
            let cell = cell.as_ref();
            self.text.push_str(cell);
            self.ends.push(self.text.len());
            let width = if cell.is_ascii() {
                cell.len()
            } else {
                cell.width()
            };
            self.widths[i] = self.widths[i].max(width);
            n = i + 1;
        }
        // A short row is filled with empty cells, as tabled fills it.
        for _ in n..self.columns {
            self.ends.push(self.text.len());
        }
    }

    /// Writes the table with box-drawing lines, the columns in `right` aligned right.
    pub fn write(&self, right: Range<usize>, out: &mut dyn Write) -> io::Result<()> {
        let rule = |left: &str, middle: &str, end: &str| {
            let mut line = String::from(left);
            for (i, w) in self.widths.iter().enumerate() {
                if i > 0 {
                    line.push_str(middle);
                }
                line.push_str(&"─".repeat(w + 2));
            }
            line.push_str(end);
            line
        };
        let rows = self.ends.len() / self.columns.max(1);
        writeln!(out, "{}", rule("┌", "┬", "┐"))?;
        let mut start = 0;
        let mut line = String::new();
        for row in 0..rows {
            line.clear();
            for c in 0..self.columns {
                let end = self.ends[row * self.columns + c];
                let cell = &self.text[start..end];
                start = end;
                let width = if cell.is_ascii() {
                    cell.len()
                } else {
                    cell.width()
                };
                let pad = self.widths[c] - width;
                line.push_str("│ ");
                if right.contains(&c) {
                    line.extend(std::iter::repeat_n(' ', pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', pad));
                }
                line.push(' ');
            }
            line.push('│');
            writeln!(out, "{line}")?;
            if row == 0 && rows > 1 {
                writeln!(out, "{}", rule("├", "┼", "┤"))?;
            }
        }
        write!(out, "{}", rule("└", "┴", "┘"))
    }
}

#[cfg(test)]
mod tests {
    use super::Table;
    use tabled::builder::Builder;
    use tabled::settings::object::Columns;
    use tabled::settings::{Alignment, Style};

    /// The same rows drawn by tabled, which `history` used before.
    fn tabled(rows: &[Vec<&str>]) -> String {
        let mut b = Builder::default();
        for r in rows {
            b.push_record(r.iter().copied());
        }
        let mut table = b.build();
        table
            .with(Style::sharp())
            .modify(Columns::new(1..3), Alignment::right());
        table.to_string()
    }

    #[test]
    fn draws_what_tabled_draws() {
        let rows = vec![
            vec!["commit", "n", "median", "subject"],
            vec!["abc", "10", "1.0 ms", "plain"],
            vec!["défg", "7", "12.25 s", "wide 漢字 text"],
            vec!["", "100", "-", "x"],
        ];
        let mut t = Table::new(&rows[0]);
        for r in &rows[1..] {
            t.push(r.iter());
        }
        let mut out = Vec::new();
        t.write(1..3, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), tabled(&rows));
    }
}
