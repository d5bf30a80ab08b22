//! Reading kustomization files before Kustomize runs: which folders a kustomization
//! builds on, which references are remote, and whether any leaves the repository.
//!
//! Kustomize's own load restrictor (`LoadRestrictionsRootOnly`) keeps the *files* a
//! kustomization loads inside its folder, but a base or component folder may lie anywhere
//! on disk, and Kustomize fetches remote bases over the network without a flag to forbid
//! it. Both are checked here, over the whole graph of kustomizations a build would load.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use crate::Error;
use crate::manifest::yaml_error;

/// The file names Kustomize recognises, in the order it looks for them.
pub(crate) const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The largest kustomization file read.
const MAX_KUSTOMIZATION_BYTES: u64 = 1024 * 1024;

/// Fields whose entries name other kustomizations, manifest files or remote targets.
const REFERENCE_FIELDS: [&str; 6] = [
    "resources",
    "bases",
    "components",
    "generators",
    "transformers",
    "validators",
];

/// The kustomization file of `folder`, when it has one.
pub(crate) fn kustomization_file(folder: &Path) -> Option<PathBuf> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|name| folder.join(name))
        .find(|path| path.is_file())
}

/// What one kustomization refers to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Kustomization {
    /// `kind: Component`: only usable from another kustomization's `components`.
    pub(crate) is_component: bool,
    /// Local folders it builds on (bases, components, folder resources), normalised.
    pub(crate) folders: Vec<PathBuf>,
    /// Entries that name remote targets (Git repositories, URLs).
    pub(crate) remote: Vec<String>,
    /// Local entries that leave `root`.
    pub(crate) outside: Vec<String>,
}

/// Reads the kustomization in `folder`; `root` bounds where local references may point.
pub(crate) fn read(folder: &Path, root: &Path) -> Result<Kustomization, Error> {
    let Some(file) = kustomization_file(folder) else {
        return Err(Error::RenderRefused {
            path: folder.to_owned(),
            reason: "holds no kustomization.yaml, kustomization.yml or Kustomization".to_owned(),
        });
    };
    let value = parse(&file)?;
    let mut kustomization = Kustomization {
        is_component: value.get("kind").and_then(Value::as_str) == Some("Component"),
        ..Kustomization::default()
    };
    for field in REFERENCE_FIELDS {
        let Some(entries) = value.get(field).and_then(Value::as_array) else {
            continue;
        };
        // Transformers and generators may also be inline objects: only names count.
        for entry in entries.iter().filter_map(Value::as_str) {
            classify(entry, folder, root, &mut kustomization);
        }
    }
    Ok(kustomization)
}

fn parse(file: &Path) -> Result<Value, Error> {
    let io = |source: std::io::Error| Error::Io {
        path: file.to_owned(),
        source,
    };
    let size = std::fs::metadata(file).map_err(io)?.len();
    if size > MAX_KUSTOMIZATION_BYTES {
        return Err(Error::TooLarge {
            path: file.to_owned(),
            size,
            limit: MAX_KUSTOMIZATION_BYTES,
        });
    }
    let text = std::fs::read_to_string(file).map_err(|source| {
        if source.kind() == std::io::ErrorKind::InvalidData {
            Error::NotText {
                path: file.to_owned(),
            }
        } else {
            io(source)
        }
    })?;
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    let options = serde_saphyr::options! { with_snippet: false };
    serde_saphyr::from_str_with_options(&text, options).map_err(|error| yaml_error(file, &error))
}

/// Sorts one entry into a local folder, a remote target, or a path leaving the root.
fn classify(entry: &str, folder: &Path, root: &Path, kustomization: &mut Kustomization) {
    let entry = entry.trim();
    if entry.is_empty() {
        return;
    }
    let local = normalize(&folder.join(entry));
    if local.exists() {
        if !inside(&local, root) {
            kustomization.outside.push(entry.to_owned());
        } else if local.is_dir() {
            kustomization.folders.push(local);
        }
        return;
    }
    if looks_remote(entry) {
        kustomization.remote.push(entry.to_owned());
    } else if !inside(&local, root) {
        kustomization.outside.push(entry.to_owned());
    }
    // A missing local entry is Kustomize's to report, with its own message.
}

/// Whether a reference that is not a local path is one Kustomize would fetch: a URL, a
/// Git address (`git@host:…`, `git::…`), or a host-prefixed path (`github.com/org/repo`).
fn looks_remote(entry: &str) -> bool {
    if entry.contains("://") || entry.starts_with("git::") || entry.starts_with("git@") {
        return true;
    }
    let first = entry.split('/').next().unwrap_or_default();
    entry.contains('/') && first.contains('.') && first != "." && first != ".."
}

/// `path` with `.` and `..` resolved lexically.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Whether `path` lies inside `root`, lexically and, when both exist, after resolving
/// symbolic links.
pub(crate) fn inside(path: &Path, root: &Path) -> bool {
    let lexical = normalize(path).starts_with(normalize(root));
    match (path.canonicalize(), root.canonicalize()) {
        (Ok(real), Ok(real_root)) => lexical && real.starts_with(real_root),
        _ => lexical,
    }
}

/// The kustomizations a build of `folder` loads: itself and every folder it builds on,
/// transitively. Refuses the build when one of them leaves `root`, or names a remote
/// target while remote bases are not allowed.
pub(crate) fn check_build(
    folder: &Path,
    root: &Path,
    allow_remote_bases: bool,
) -> Result<BTreeSet<PathBuf>, Error> {
    walk(folder, root, |current, kustomization| {
        let file = kustomization_file(current).unwrap_or_else(|| current.to_owned());
        if let Some(entry) = kustomization.outside.first() {
            return Err(Error::RenderRefused {
                path: file,
                reason: format!(
                    "`{entry}` leaves the repository; a kustomization may only refer to folders and files inside it"
                ),
            });
        }
        if !allow_remote_bases && let Some(entry) = kustomization.remote.first() {
            return Err(Error::RenderRefused {
                path: file,
                reason: format!(
                    "`{entry}` is a remote base, and remote bases are off for this application; vendor it into the repository, or set `kustomize: {{allow_remote_bases: true}}` on the application"
                ),
            });
        }
        Ok(())
    })
}

/// Every kustomization folder a build of `folder` loads, itself included.
pub(crate) fn loaded_folders(folder: &Path, root: &Path) -> Result<BTreeSet<PathBuf>, Error> {
    walk(folder, root, |_, _| Ok(()))
}

/// Visits the kustomizations a build of `folder` loads, each once.
fn walk(
    folder: &Path,
    root: &Path,
    mut visit: impl FnMut(&Path, &Kustomization) -> Result<(), Error>,
) -> Result<BTreeSet<PathBuf>, Error> {
    let mut seen = BTreeSet::new();
    let mut pending = vec![normalize(folder)];
    while let Some(current) = pending.pop() {
        if !seen.insert(current.clone()) {
            continue;
        }
        let kustomization = read(&current, root)?;
        visit(&current, &kustomization)?;
        pending.extend(
            kustomization
                .folders
                .into_iter()
                .filter(|f| kustomization_file(f).is_some()),
        );
    }
    Ok(seen)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn write(root: &Path, path: &str, text: &str) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn references_are_sorted_into_folders_remote_and_outside() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        write(
            &root,
            "base/kustomization.yaml",
            "resources: [deploy.yaml]\n",
        );
        write(&root, "base/deploy.yaml", "kind: Deployment\n");
        write(
            &root,
            "overlays/prod/kustomization.yaml",
            "resources:\n- ../../base\n- https://github.com/org/repo//deploy?ref=v1\n- github.com/org/other/app\n- ../../../elsewhere\ncomponents: [../../components/tls]\n",
        );
        write(
            &root,
            "components/tls/kustomization.yaml",
            "kind: Component\n",
        );
        std::fs::create_dir_all(dir.path().join("elsewhere")).unwrap();
        let read = read(&root.join("overlays/prod"), &root).unwrap();
        assert_eq!(
            read.folders,
            vec![root.join("base"), root.join("components/tls")]
        );
        assert_eq!(
            read.remote,
            [
                "https://github.com/org/repo//deploy?ref=v1",
                "github.com/org/other/app"
            ]
        );
        assert_eq!(read.outside, ["../../../elsewhere"]);
        assert!(!read.is_component);
        assert!(
            super::read(&root.join("components/tls"), &root)
                .unwrap()
                .is_component
        );
    }

    #[test]
    fn a_build_is_refused_for_remote_bases_unless_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "base/kustomization.yaml",
            "resources:\n- git@github.com:org/repo.git\n",
        );
        write(root, "app/kustomization.yaml", "resources: [../base]\n");
        let error = check_build(&root.join("app"), root, false).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("base/kustomization.yaml"), "{message}");
        assert!(message.contains("allow_remote_bases"), "{message}");
        let loaded = check_build(&root.join("app"), root, true).unwrap();
        assert_eq!(loaded.len(), 2);
    }

    #[test]
    fn a_build_is_refused_when_a_base_leaves_the_repository() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        write(dir.path(), "secrets/kustomization.yaml", "resources: []\n");
        write(
            &root,
            "app/kustomization.yaml",
            "resources: [../../secrets]\n",
        );
        let error = check_build(&root.join("app"), &root, true).unwrap_err();
        assert!(
            error.to_string().contains("leaves the repository"),
            "{error}"
        );
    }

    #[test]
    fn a_broken_kustomization_names_its_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "app/kustomization.yaml",
            "resources:\n  - a\n bad: [\n",
        );
        let error = read(&dir.path().join("app"), dir.path()).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("kustomization.yaml:"), "{message}");
        assert!(matches!(error, Error::Syntax { .. }), "{message}");
    }
}
