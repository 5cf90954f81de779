//! Class `auto`: a fixture's size by the product's workload table.
//!
//! | class  | lines of text  | files    | dependencies |
//! |--------|----------------|----------|--------------|
//! | small  | < 1,000        | < 50     | < 20         |
//! | medium | <= 10,000      | <= 200   | <= 100       |
//! | large  | more           | more     | more         |
//!
//! A fixture takes the largest class any one of its measures calls for.

use std::path::Path;

use crate::vocab::Class;
use serde::Serialize;

const SMALL: SizeMeasure = SizeMeasure {
    lines: 1_000,
    files: 50,
    dependencies: 20,
};
const MEDIUM: SizeMeasure = SizeMeasure {
    lines: 10_000,
    files: 200,
    dependencies: 100,
};

/// Folders that hold build output or vendored code rather than the project.
const SKIPPED_DIRS: [&str; 3] = [".git", "target", "node_modules"];

/// The size of a fixture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SizeMeasure {
    /// Lines of every text file (a file with a NUL byte in its first 8 KiB is binary).
    pub lines: u64,
    /// Regular files.
    pub files: u64,
    /// Dependencies declared in `Cargo.toml`, `package.json` and `requirements*.txt` files.
    pub dependencies: u64,
}

/// Measures a fixture folder (or a single file). Unreadable entries are skipped; symbolic links
/// are not followed.
pub fn measure_folder(path: &Path) -> std::io::Result<SizeMeasure> {
    let mut m = SizeMeasure::default();
    let meta = std::fs::symlink_metadata(path)?;
    if meta.is_file() {
        measure_file(path, &mut m);
        return Ok(m);
    }
    let mut stack = vec![path.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name();
            if kind.is_dir() && !SKIPPED_DIRS.iter().any(|s| name == *s) {
                stack.push(entry.path());
            } else if kind.is_file() {
                measure_file(&entry.path(), &mut m);
            }
        }
    }
    Ok(m)
}

/// A manifest larger than this is not read for its dependencies.
const MAX_MANIFEST_BYTES: u64 = 8 << 20;

/// Counts one file, reading it in chunks: a multi-gigabyte data file costs a chunk of memory,
/// and a binary one no more than the test for a NUL byte in its first 8 KiB.
fn measure_file(path: &Path, m: &mut SizeMeasure) {
    use std::io::Read;
    m.files += 1;
    let Ok(mut file) = std::fs::File::open(path) else {
        return;
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut lines = 0u64;
    let mut first = true;
    let mut last = b'\n';
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        let chunk = &buf[..n];
        if first && chunk[..n.min(8192)].contains(&0) {
            return;
        }
        first = false;
        lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        last = chunk[n - 1];
    }
    m.lines += lines + u64::from(last != b'\n');
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let is_manifest = name == "Cargo.toml"
        || name == "package.json"
        || (name.starts_with("requirements") && name.ends_with(".txt"));
    if !is_manifest || std::fs::metadata(path).map_or(true, |meta| meta.len() > MAX_MANIFEST_BYTES)
    {
        return;
    }
    let Ok(bytes) = std::fs::read(path) else {
        return;
    };
    let text = String::from_utf8_lossy(&bytes);
    m.dependencies += match name {
        "Cargo.toml" => cargo_dependencies(&text),
        "package.json" => npm_dependencies(&text),
        _ => text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('-'))
            .count() as u64,
    };
}

/// Entries of every dependency table of a Cargo manifest, including `[workspace.dependencies]`
/// and `[target.'cfg(..)'.dependencies]`. A manifest that does not parse counts none.
fn cargo_dependencies(text: &str) -> u64 {
    const TABLES: [&str; 3] = ["dependencies", "dev-dependencies", "build-dependencies"];
    let Ok(doc) = text.parse::<toml::Table>() else {
        return 0;
    };
    let count = |t: &toml::Table| -> u64 {
        TABLES
            .iter()
            .filter_map(|k| t.get(*k).and_then(|v| v.as_table()))
            .map(|d| d.len() as u64)
            .sum()
    };
    let workspace = doc
        .get("workspace")
        .and_then(|w| w.as_table())
        .map_or(0, count);
    let targets: u64 = doc.get("target").and_then(|t| t.as_table()).map_or(0, |t| {
        t.values().filter_map(|v| v.as_table()).map(count).sum()
    });
    count(&doc) + workspace + targets
}

fn npm_dependencies(text: &str) -> u64 {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(text) else {
        return 0;
    };
    [
        "dependencies",
        "devDependencies",
        "peerDependencies",
        "optionalDependencies",
    ]
    .iter()
    .filter_map(|k| doc.get(k).and_then(|v| v.as_object()))
    .map(|o| o.len() as u64)
    .sum()
}

/// The class of a measured fixture, and why, in words for `list`.
pub fn classify(m: &SizeMeasure) -> (Class, String) {
    // The measures that reach past `limit`: at or above it for small's limits (small is
    // "under"), above it for medium's ("up to").
    let over = |limit: &SizeMeasure, strict: bool| {
        let op = if strict { ">=" } else { ">" };
        [
            (m.lines, limit.lines, "lines"),
            (m.files, limit.files, "files"),
            (m.dependencies, limit.dependencies, "deps"),
        ]
        .into_iter()
        .filter(|&(v, l, _)| if strict { v >= l } else { v > l })
        .map(|(v, l, what)| format!("{v} {what} {op} {l}"))
        .collect::<Vec<_>>()
    };
    let large = over(&MEDIUM, false);
    if !large.is_empty() {
        return (Class::Large, format!("auto: {}", large.join(", ")));
    }
    let medium = over(&SMALL, true);
    if !medium.is_empty() {
        return (Class::Medium, format!("auto: {}", medium.join(", ")));
    }
    (
        Class::Small,
        format!(
            "auto: {} lines, {} files, {} deps",
            m.lines, m.files, m.dependencies
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(lines: u64, files: u64, dependencies: u64) -> SizeMeasure {
        SizeMeasure {
            lines,
            files,
            dependencies,
        }
    }

    #[test]
    fn boundaries_of_the_table() {
        assert_eq!(classify(&size(999, 49, 19)).0, Class::Small);
        assert_eq!(classify(&size(1_000, 1, 1)).0, Class::Medium);
        assert_eq!(classify(&size(1, 50, 1)).0, Class::Medium);
        assert_eq!(classify(&size(1, 1, 20)).0, Class::Medium);
        assert_eq!(classify(&size(10_000, 200, 100)).0, Class::Medium);
        assert_eq!(classify(&size(10_001, 1, 1)).0, Class::Large);
        assert_eq!(classify(&size(1, 201, 1)).0, Class::Large);
        assert_eq!(classify(&size(1, 1, 101)).0, Class::Large);
    }

    #[test]
    fn the_reason_names_the_deciding_measure() {
        let (_, why) = classify(&size(500, 300, 3));
        assert!(
            why.contains("300 files") && !why.contains("500 lines"),
            "{why}"
        );
    }

    #[test]
    fn measures_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(
            p.join("Cargo.toml"),
            "[package]\nname = \"x\"\n[dependencies]\na = \"1\"\nb = \"1\"\n\
             [dev-dependencies]\nc = \"1\"\n[target.'cfg(unix)'.dependencies]\nd = \"1\"\n",
        )
        .unwrap();
        std::fs::create_dir_all(p.join("src")).unwrap();
        std::fs::write(p.join("src/main.rs"), "fn main() {}\n// end").unwrap();
        std::fs::write(p.join("package.json"), r#"{"dependencies": {"x": "1"}}"#).unwrap();
        std::fs::write(p.join("requirements.txt"), "# pinned\nnumpy==2\n\nscipy\n").unwrap();
        std::fs::write(p.join("blob.bin"), [1u8, 0, 2, b'\n']).unwrap();
        std::fs::create_dir_all(p.join("target/release")).unwrap();
        std::fs::write(p.join("target/release/junk.rs"), "ignored\n").unwrap();
        let m = measure_folder(p).unwrap();
        // Cargo.toml 9 lines, main.rs 2, package.json 1, requirements 4; blob is binary.
        assert_eq!(m, size(16, 5, 4 + 1 + 2));
    }
}
