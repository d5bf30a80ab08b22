//! Entries of a manifest folder that are neither regular files, folders nor symbolic
//! links: named pipes, sockets and devices. Reading one could block forever (a pipe
//! without a writer) or never end (`/dev/zero`), so the readers refuse them by name
//! instead of skipping them, and a folder that holds one is an error the user sees.

use std::fs::FileType;
use std::path::Path;

use crate::Error;

/// What a special file is, as an error names it; `None` for regular files, folders and
/// symbolic links.
pub(crate) fn special_kind(file_type: &FileType) -> Option<&'static str> {
    if file_type.is_file() || file_type.is_dir() || file_type.is_symlink() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_fifo() {
            return Some("a named pipe");
        }
        if file_type.is_socket() {
            return Some("a socket");
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return Some("a device");
        }
    }
    Some("a special file")
}

/// The error for `path`, an entry of `kind` (see [`special_kind`]).
pub(crate) fn refuse(path: &Path, kind: &'static str) -> Error {
    Error::NotRegularFile {
        path: path.to_owned(),
        kind,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn regular_files_folders_and_links_are_not_special() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.yaml");
        std::fs::write(&file, "").unwrap();
        for path in [dir.path(), file.as_path()] {
            let file_type = std::fs::symlink_metadata(path).unwrap().file_type();
            assert_eq!(special_kind(&file_type), None, "{}", path.display());
        }
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_named() {
        let file_type = std::fs::symlink_metadata("/dev/null").unwrap().file_type();
        assert_eq!(special_kind(&file_type), Some("a device"));
        let error = refuse(Path::new("/dev/null"), "a device").to_string();
        assert!(error.starts_with("/dev/null: "), "{error}");
        assert!(error.contains("a device"), "{error}");
    }
}
