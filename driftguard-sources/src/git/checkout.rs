//! Writing one commit's files to disk, so that renderers (Kustomize, Helm) and the
//! manifest reader see the repository as a checkout.
//!
//! The repository is untrusted, so the export writes only what a checkout needs and
//! nothing that could reach outside it: regular files (never executable), folders, and
//! symbolic links whose target stays inside the checkout. Links that leave it, submodules
//! and entry names that are not plain file names are skipped with a warning.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid, Repository};

use crate::Error;
use crate::render::kustomization::{inside, normalize};

/// Git's file modes (see gitformat-index).
const MODE_BLOB: i32 = 0o100_644;
const MODE_BLOB_EXECUTABLE: i32 = 0o100_755;
const MODE_LINK: i32 = 0o120_000;
const MODE_SUBMODULE: i32 = 0o160_000;

/// Why an export failed.
#[derive(Debug)]
pub(crate) enum ExportFailure {
    /// Writing the files failed (disk full, permissions).
    Io(Error),
    /// Objects are missing or unreadable: the local repository is damaged.
    Corrupt(String),
}

impl From<git2::Error> for ExportFailure {
    fn from(error: git2::Error) -> Self {
        Self::Corrupt(error.message().to_owned())
    }
}

/// Writes the tree of `commit` into `target`, which must not exist yet.
pub(crate) fn export(repo: &Repository, commit: Oid, target: &Path) -> Result<(), ExportFailure> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| ExportFailure::Io(Error::Io { path, source })
    };
    std::fs::create_dir_all(target).map_err(io(target))?;
    let root = repo.find_commit(commit)?.tree()?.id();
    let mut links: Vec<(PathBuf, PathBuf)> = Vec::new();
    // Iterative: a hostile repository may nest folders arbitrarily deep.
    let mut pending: Vec<(Oid, PathBuf)> = vec![(root, target.to_owned())];
    while let Some((tree, folder)) = pending.pop() {
        let tree = repo.find_tree(tree)?;
        for entry in tree.iter() {
            let name = OsStr::from_bytes(entry.name_bytes());
            if !is_plain_name(entry.name_bytes()) {
                tracing::warn!(folder = %folder.display(), name = %name.to_string_lossy(), "skipped a repository entry whose name is not a plain file name");
                continue;
            }
            let path = folder.join(name);
            match (entry.kind(), entry.filemode()) {
                (Some(ObjectType::Tree), _) => {
                    std::fs::create_dir(&path).map_err(io(&path))?;
                    pending.push((entry.id(), path));
                }
                (Some(ObjectType::Blob), MODE_BLOB | MODE_BLOB_EXECUTABLE) => {
                    let blob = repo.find_blob(entry.id())?;
                    std::fs::write(&path, blob.content()).map_err(io(&path))?;
                }
                (Some(ObjectType::Blob), MODE_LINK) => {
                    let blob = repo.find_blob(entry.id())?;
                    let link = PathBuf::from(OsStr::from_bytes(blob.content()));
                    links.push((path, link));
                }
                (_, MODE_SUBMODULE) => {
                    tracing::debug!(path = %path.display(), "skipped a submodule; submodules are not fetched");
                }
                _ => {
                    tracing::warn!(path = %path.display(), "skipped a repository entry of an unknown type");
                }
            }
        }
    }
    // Links last, once every folder exists. A link's text is checked first; then, with
    // every link in place, where each one really leads: `a -> ..` and `b -> a/..` are
    // harmless one by one and leave the checkout together.
    let mut created = Vec::with_capacity(links.len());
    for (path, link) in links {
        let parent = path.parent().unwrap_or(target);
        let resolved = normalize(&parent.join(&link));
        if link.is_absolute() || !inside(&resolved, target) {
            tracing::warn!(path = %path.display(), "skipped a symbolic link that points outside the repository");
            continue;
        }
        std::os::unix::fs::symlink(&link, &path).map_err(io(&path))?;
        created.push(path);
    }
    let real_root = target.canonicalize().map_err(io(target))?;
    for path in created {
        match path.canonicalize() {
            Ok(real) if real.starts_with(&real_root) => {}
            Ok(_) => {
                tracing::warn!(path = %path.display(), "skipped a symbolic link that leads outside the repository through other links");
                std::fs::remove_file(&path).map_err(io(&path))?;
            }
            // Dangling (its target is missing, or was one of the links removed): it
            // reads as nothing, but is removed so that nothing can follow it.
            Err(_) => std::fs::remove_file(&path).map_err(io(&path))?,
        }
    }
    Ok(())
}

/// A name Git may store in a tree that is safe to create: not empty, not `.` or `..`,
/// no `/` or NUL, and not `.git` (which would make the export a repository).
fn is_plain_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name != b"."
        && name != b".."
        && !name.contains(&b'/')
        && !name.contains(&0)
        && !name.eq_ignore_ascii_case(b".git")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn plain_names_only() {
        for good in [&b"deploy.yaml"[..], b".env", b"..hidden"] {
            assert!(is_plain_name(good));
        }
        for bad in [&b""[..], b".", b"..", b"a/b", b".GIT", b"a\0b"] {
            assert!(!is_plain_name(bad));
        }
    }

    #[test]
    fn exports_files_folders_and_inner_links_only() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path().join("repo.git")).unwrap();
        let blob = |text: &[u8]| repo.blob(text).unwrap();
        let mut base = repo.treebuilder(None).unwrap();
        base.insert("deploy.yaml", blob(b"kind: Deployment\n"), MODE_BLOB)
            .unwrap();
        base.insert("run.sh", blob(b"#!/bin/sh\n"), MODE_BLOB_EXECUTABLE)
            .unwrap();
        let base = base.write().unwrap();
        let mut top = repo.treebuilder(None).unwrap();
        top.insert("base", base, 0o040_000).unwrap();
        top.insert("inner", blob(b"base/deploy.yaml"), MODE_LINK)
            .unwrap();
        top.insert("outer", blob(b"../../etc/passwd"), MODE_LINK)
            .unwrap();
        top.insert("absolute", blob(b"/etc/passwd"), MODE_LINK)
            .unwrap();
        // Each harmless by its text, together they leave the checkout.
        top.insert("up", blob(b"base/.."), MODE_LINK).unwrap();
        top.insert("escape", blob(b"up/.."), MODE_LINK).unwrap();
        let tree = repo.find_tree(top.write().unwrap()).unwrap();
        let signature = git2::Signature::now("t", "t@example.com").unwrap();
        let commit = repo
            .commit(None, &signature, &signature, "c", &tree, &[])
            .unwrap();
        let target = dir.path().join("checkout");
        export(&repo, commit, &target).unwrap();
        assert_eq!(
            std::fs::read_to_string(target.join("base/deploy.yaml")).unwrap(),
            "kind: Deployment\n"
        );
        assert_eq!(
            std::fs::read_to_string(target.join("inner")).unwrap(),
            "kind: Deployment\n"
        );
        assert!(!target.join("outer").exists());
        assert!(std::fs::symlink_metadata(target.join("absolute")).is_err());
        assert!(
            std::fs::symlink_metadata(target.join("up")).is_ok(),
            "stays inside"
        );
        assert!(
            std::fs::symlink_metadata(target.join("escape")).is_err(),
            "leads outside through `up`"
        );
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(target.join("base/run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0, "never executable");
    }
}
