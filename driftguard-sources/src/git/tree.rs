//! Reading the manifests of one commit straight from Git's tree and blob objects, with the
//! same [`ManifestReader`] and the same file rules as the folder source: `*.yaml`,
//! `*.yml` and `*.json` files, recursively, in name order, hidden files and folders
//! skipped, symbolic links and submodules not followed.

use std::path::PathBuf;

use driftguard_core::Resource;
use git2::{ErrorClass, ErrorCode, FileMode, ObjectType, Oid, Repository};

use crate::Error;
use crate::manifest::{ManifestLimits, ManifestReader};

/// Why reading a commit's manifests failed.
#[derive(Debug)]
pub(crate) enum ReadFailure {
    /// The sub-path is not in the commit.
    PathNotFound,
    /// A manifest is unusable (syntax, size, shape): the error names it.
    Manifest(Error),
    /// Objects are missing or unreadable: the local repository is damaged.
    Corrupt(String),
}

impl From<git2::Error> for ReadFailure {
    fn from(error: git2::Error) -> Self {
        Self::Corrupt(error.message().to_owned())
    }
}

/// Every resource declared under `sub_path` (repository-relative folder names; empty
/// for the whole tree) in `commit`. A sub-path naming a file reads that file alone.
///
/// Files are named by their repository-relative path in errors and origins.
pub(crate) fn read_manifests(
    repo: &Repository,
    commit: Oid,
    sub_path: &[String],
    reader: &ManifestReader,
) -> Result<Vec<Resource>, ReadFailure> {
    let root_tree = repo.find_commit(commit)?.tree()?;
    let prefix: PathBuf = sub_path.iter().collect();
    let start = if sub_path.is_empty() {
        Entry::Tree(root_tree.id())
    } else {
        let entry = root_tree.get_path(&prefix).map_err(|error| {
            if error.code() == ErrorCode::NotFound && error.class() == ErrorClass::Tree {
                ReadFailure::PathNotFound
            } else {
                ReadFailure::from(error)
            }
        })?;
        match (entry.kind(), entry.filemode()) {
            (Some(ObjectType::Tree), _) => Entry::Tree(entry.id()),
            (Some(ObjectType::Blob), mode) if is_regular_file(mode) => Entry::Blob(entry.id()),
            _ => return Err(ReadFailure::PathNotFound),
        }
    };
    let mut resources = Vec::new();
    match start {
        Entry::Blob(id) => read_blob(repo, id, &prefix, reader, &mut resources)?,
        Entry::Tree(id) => {
            // Depth-first in name order, without recursion: a hostile repository may
            // nest folders arbitrarily deep.
            let mut pending: Vec<(Entry, PathBuf)> = vec![(Entry::Tree(id), prefix)];
            while let Some((entry, path)) = pending.pop() {
                match entry {
                    Entry::Blob(id) => read_blob(repo, id, &path, reader, &mut resources)?,
                    Entry::Tree(id) => {
                        let children = children(repo, id, &path)?;
                        pending.extend(children.into_iter().rev());
                    }
                }
            }
        }
    }
    Ok(resources)
}

/// What a walk visits next.
#[derive(Debug, Clone, Copy)]
enum Entry {
    Tree(Oid),
    Blob(Oid),
}

/// A tree's manifest files and sub-folders, sorted by name like the folder walk.
fn children(
    repo: &Repository,
    tree: Oid,
    path: &std::path::Path,
) -> Result<Vec<(Entry, PathBuf)>, ReadFailure> {
    let tree = repo.find_tree(tree)?;
    let mut children: Vec<(Vec<u8>, Entry, PathBuf)> = Vec::new();
    for item in tree.iter() {
        let name = item.name_bytes();
        if name.starts_with(b".") {
            continue;
        }
        let child_path = path.join(String::from_utf8_lossy(name).as_ref());
        let entry = match (item.kind(), item.filemode()) {
            (Some(ObjectType::Tree), _) => Entry::Tree(item.id()),
            (Some(ObjectType::Blob), mode)
                if is_regular_file(mode) && ManifestReader::is_manifest_file(&child_path) =>
            {
                Entry::Blob(item.id())
            }
            _ => continue,
        };
        children.push((name.to_vec(), entry, child_path));
    }
    children.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(children
        .into_iter()
        .map(|(_, entry, path)| (entry, path))
        .collect())
}

fn is_regular_file(mode: i32) -> bool {
    mode == i32::from(FileMode::Blob) || mode == i32::from(FileMode::BlobExecutable)
}

/// Parses one blob, refusing it before loading when it is over the size limit.
fn read_blob(
    repo: &Repository,
    id: Oid,
    path: &std::path::Path,
    reader: &ManifestReader,
    out: &mut Vec<Resource>,
) -> Result<(), ReadFailure> {
    let limit = ManifestLimits::DESIRED.max_file_bytes;
    let (size, _) = repo.odb()?.read_header(id)?;
    let size = size as u64;
    if size > limit {
        return Err(ReadFailure::Manifest(Error::TooLarge {
            path: path.to_owned(),
            size,
            limit,
        }));
    }
    let blob = repo.find_blob(id)?;
    let resources = reader
        .read_bytes(path, blob.content())
        .map_err(ReadFailure::Manifest)?;
    out.extend(resources);
    Ok(())
}
