//! `-p/--package SPEC`, `--workspace` and `--exclude SPEC`, as `cargo bench` and `cargo nextest`
//! take them.

use super::members::Member;
use crate::errors::WorkspaceError;

/// The packages the command line selects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageSelection {
    /// `-p/--package SPEC`, repeatable: a name, a glob of names, `name@version`, or a package id.
    pub packages: Vec<String>,
    /// `--workspace`: every member.
    pub workspace: bool,
    /// `--exclude SPEC` (with `--workspace`).
    pub exclude: Vec<String>,
}

impl PackageSelection {
    /// No flag given: cargo's default selection applies.
    pub fn is_default(&self) -> bool {
        self.packages.is_empty() && !self.workspace && self.exclude.is_empty()
    }

    /// The indices of the chosen members, and warnings (an `--exclude` that names nothing).
    pub(super) fn choose(
        &self,
        members: &[Member],
        lenient: bool,
    ) -> Result<(Vec<usize>, Vec<String>), WorkspaceError> {
        let mut warnings = Vec::new();
        let listing = || {
            members
                .iter()
                .map(Member::spec)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut chosen: Vec<usize> = Vec::new();
        if self.workspace {
            chosen.extend(0..members.len());
        }
        for spec in &self.packages {
            let matched = matching(spec, members)?;
            if matched.is_empty() && !lenient {
                return Err(WorkspaceError::Selection(format!(
                    "`--package {spec}` matches no member of the workspace; the members are: {}",
                    listing()
                )));
            }
            chosen.extend(matched);
        }
        for spec in &self.exclude {
            let matched = matching(spec, members)?;
            if matched.is_empty() && !lenient {
                warnings.push(format!(
                    "`--exclude {spec}` matches no member of the workspace; the members are: {}",
                    listing()
                ));
            }
            chosen.retain(|i| !matched.contains(i));
        }
        chosen.sort_unstable();
        chosen.dedup();
        if chosen.is_empty() && !lenient {
            return Err(WorkspaceError::Selection(
                "`--exclude` leaves no member of the workspace selected; exclude fewer packages"
                    .into(),
            ));
        }
        Ok((chosen, warnings))
    }
}

/// The members a package id spec names: a package id exactly, `name`, `name@version` (the
/// version may be partial, `1` or `1.2`), the older `name:version`, or a glob of names.
fn matching(spec: &str, members: &[Member]) -> Result<Vec<usize>, WorkspaceError> {
    if spec.trim().is_empty() {
        return Err(WorkspaceError::Selection(
            "an empty package spec; give a package name such as `-p mycrate`".into(),
        ));
    }
    let by = |f: &dyn Fn(&Member) -> bool| -> Vec<usize> {
        (0..members.len()).filter(|&i| f(&members[i])).collect()
    };
    if spec.contains("://") || spec.contains('#') {
        return Ok(by(&|m| m.id == spec));
    }
    if spec.contains(['*', '?', '[']) {
        let pattern = glob::Pattern::new(spec).map_err(|e| {
            WorkspaceError::Selection(format!("`{spec}` is not a valid package glob: {e}"))
        })?;
        return Ok(by(&|m| pattern.matches(&m.name)));
    }
    let (name, version) = match spec.split_once(['@', ':']) {
        Some((n, v)) => (n, Some(v)),
        None => (spec, None),
    };
    Ok(by(&|m| {
        m.name == name && version.is_none_or(|v| version_matches(&m.version, v))
    }))
}

/// `1` and `1.2` match `1.2.3`; `1.2.3` matches only itself (and its pre-releases' exact form).
fn version_matches(full: &str, given: &str) -> bool {
    full == given
        || full
            .strip_prefix(given)
            .is_some_and(|rest| rest.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, version: &str) -> Member {
        Member {
            id: format!("path+file:///src/{name}#{name}@{version}"),
            name: name.into(),
            version: version.into(),
            dir: Default::default(),
            manifest_path: Default::default(),
            criterion_benches: Vec::new(),
            selected: false,
        }
    }

    fn members() -> Vec<Member> {
        vec![
            member("core", "1.2.3"),
            member("cli", "0.4.0"),
            member("core-bench", "0.1.0"),
        ]
    }

    fn choose(sel: PackageSelection) -> Result<Vec<usize>, String> {
        sel.choose(&members(), false)
            .map(|(c, _)| c)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn specs_name_members_by_name_version_glob_and_id() {
        let p = |specs: &[&str]| PackageSelection {
            packages: specs.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        assert_eq!(choose(p(&["cli"])), Ok(vec![1]));
        assert_eq!(choose(p(&["core@1.2"])), Ok(vec![0]));
        assert_eq!(choose(p(&["core@1"])), Ok(vec![0]));
        assert_eq!(choose(p(&["core:1.2.3"])), Ok(vec![0]));
        assert_eq!(choose(p(&["core*"])), Ok(vec![0, 2]));
        assert_eq!(
            choose(p(&["path+file:///src/cli#cli@0.4.0", "cli"])),
            Ok(vec![1])
        );
        // `1.2` is not a prefix of `1.20.0` at a component boundary.
        assert!(!version_matches("1.20.0", "1.2"));
        let err = choose(p(&["core@2"])).unwrap_err();
        assert!(err.contains("core@1.2.3, cli@0.4.0"), "{err}");
        assert!(choose(p(&[""])).unwrap_err().contains("empty package spec"));
    }

    #[test]
    fn workspace_minus_excluded() {
        let sel = PackageSelection {
            workspace: true,
            exclude: vec!["core*".into()],
            ..Default::default()
        };
        assert_eq!(choose(sel), Ok(vec![1]));
        let all_gone = PackageSelection {
            workspace: true,
            exclude: vec!["*".into()],
            ..Default::default()
        };
        assert!(choose(all_gone).unwrap_err().contains("leaves no member"));
        let (chosen, warnings) = PackageSelection {
            workspace: true,
            exclude: vec!["nothing".into()],
            ..Default::default()
        }
        .choose(&members(), false)
        .unwrap();
        assert_eq!(chosen, vec![0, 1, 2]);
        assert!(warnings[0].contains("`--exclude nothing` matches no member"));
    }

    #[test]
    fn lenient_selection_of_a_package_the_side_lacks_is_empty() {
        let sel = PackageSelection {
            packages: vec!["added-later".into()],
            ..Default::default()
        };
        assert_eq!(sel.choose(&members(), true).unwrap().0, Vec::<usize>::new());
    }
}
