//! The `check` fixture cases under `tests/fixtures/`: finding them and naming them, for
//! the tests that run them (`fixtures.rs`) and compare their output (`check_output_golden.rs`).

use std::path::{Path, PathBuf};

/// Every folder under `root` that holds a `case.json`, sorted; panics when there is none.
pub fn case_dirs(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        if dir.join("case.json").is_file() {
            found.push(dir.to_owned());
            return;
        }
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a readable folder entry").path();
            if path.is_dir() {
                walk(&path, found);
            }
        }
    }
    let mut found = Vec::new();
    walk(root, &mut found);
    assert!(!found.is_empty(), "no cases under {}", root.display());
    found.sort();
    found
}

/// `drift/scaling/kubectl-scale` for `<root>/drift/scaling/kubectl-scale`.
pub fn case_name(root: &Path, dir: &Path) -> String {
    dir.strip_prefix(root)
        .expect("a case lies under the fixtures folder")
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
