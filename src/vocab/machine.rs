//! Machine keys: whose records are whose.

/// Why `key` cannot be a machine key, if it cannot: keys appear in file names, labels and
/// command lines, so they are 1 to 64 of `A-Z a-z 0-9 . _ -`, and `this` and `any` are words of
/// `--machine`.
pub fn check_machine_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > 64 {
        return Err(format!(
            "`{}` is not a machine key: give 1 to 64 characters, such as `ubuntu-4core`",
            key.escape_debug()
        ));
    }
    if let Some(c) = key
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "`{}` is not a machine key: `{}` is not allowed; use letters, digits, `.`, `_` and \
             `-`, such as `ubuntu-4core`",
            key.escape_debug(),
            c.escape_debug()
        ));
    }
    if key == "this" || key == "any" {
        return Err(format!(
            "`{key}` cannot be a machine key: it is a word of `--machine`; name the class of \
             machine, such as `ubuntu-4core`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        for good in ["ubuntu-4core", "a", "x86_64.v3", &"k".repeat(64)] {
            assert_eq!(check_machine_key(good), Ok(()), "{good}");
        }
        let long = "k".repeat(65);
        for (bad, says) in [
            ("", "1 to 64"),
            (long.as_str(), "1 to 64"),
            ("ubuntu 4core", "` ` is not allowed"),
            ("a/b", "`/` is not allowed"),
            ("any", "word of `--machine`"),
            ("this", "word of `--machine`"),
        ] {
            let err = check_machine_key(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
