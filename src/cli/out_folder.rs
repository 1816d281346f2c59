//! The output folder (`--out`), checked before any work: a render that cannot write its
//! file says so at once, naming the folder in plain words, instead of after rendering.

use std::fs;
use std::io;
use std::path::Path;

use crate::atomic_file::AtomicFile;

/// Makes sure `out` is a folder that files can be written in, creating it if needed.
///
/// # Errors
/// A message naming the folder and saying what is wrong.
pub fn prepare(out: &Path) -> Result<(), String> {
    let shown = out.display();
    if fs::metadata(out).is_ok_and(|m| !m.is_dir()) {
        return Err(format!(
            "the output folder `{shown}` is a file\n  = help: pass `--out` a folder, or move the file"
        ));
    }
    fs::create_dir_all(out)
        .map_err(|e| format!("cannot create the output folder `{shown}`: {}", in_words(&e)))?;
    // Creating a file is the only sure test: permissions, read-only mounts and quotas all
    // show here. The file is dropped, and so deleted, at once.
    AtomicFile::create(out.join("probe"))
        .map(drop)
        .map_err(|e| format!("cannot write in the output folder `{shown}`: {}", in_words(&e)))
}

/// What an I/O error means, in words for a user rather than the system's.
#[must_use]
pub fn in_words(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        io::ErrorKind::ReadOnlyFilesystem => "the file system is read-only".to_owned(),
        io::ErrorKind::StorageFull => "the disk is full".to_owned(),
        io::ErrorKind::QuotaExceeded => "the disk quota is used up".to_owned(),
        io::ErrorKind::FileTooLarge => "a file grew past the size limit".to_owned(),
        io::ErrorKind::NotADirectory | io::ErrorKind::AlreadyExists => {
            "a part of the path is a file, not a folder".to_owned()
        }
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_folder_is_created_and_left_empty() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/b");
        prepare(&out).unwrap();
        assert_eq!(fs::read_dir(&out).unwrap().count(), 0);
    }

    #[test]
    fn a_file_given_as_the_folder_or_inside_its_path_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("song.wav");
        fs::write(&file, b"").unwrap();
        let e = prepare(&file).unwrap_err();
        assert!(e.contains("is a file") && e.contains("song.wav"), "{e}");
        let e = prepare(&file.join("out")).unwrap_err();
        assert!(e.contains("cannot create the output folder"), "{e}");
        assert!(e.contains("is a file, not a folder"), "{e}");
    }
}
