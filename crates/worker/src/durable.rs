//! Writing a sealed file so that a crash leaves the old file or the new one, never a torn one:
//! a temporary file (mode 0600: sealed or not, it is nobody else's business), fsync, rename over
//! the target, fsync of the directory (the rename is durable only once the directory is).

use std::io::Write;
use std::path::Path;

/// The extension of the temporary file beside the target while it is written.
pub const TEMPORARY_EXTENSION: &str = "tmp";

type StepError = (std::path::PathBuf, std::io::Error);

fn at(p: &Path) -> impl FnOnce(std::io::Error) -> StepError {
    let p = p.to_path_buf();
    move |e| (p, e)
}

/// Creates (or truncates) `path` for writing, readable by this user only.
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Replaces `path` with `bytes` durably and atomically. The error is the step's, with its path.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), StepError> {
    let temporary = path.with_extension(TEMPORARY_EXTENSION);
    {
        let mut file = create_private(&temporary).map_err(at(&temporary))?;
        file.write_all(bytes).map_err(at(&temporary))?;
        file.sync_all().map_err(at(&temporary))?;
    }
    finish(&temporary, path)
}

/// Renames the written and synced `temporary` over `path`, then syncs the directory.
pub fn finish(temporary: &Path, path: &Path) -> Result<(), StepError> {
    std::fs::rename(temporary, path).map_err(at(path))?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(at(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_private_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.sealed");
        write_file(&path, b"one").unwrap();
        write_file(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert!(!path.with_extension(TEMPORARY_EXTENSION).exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
