//! Writing a sealed file so that a crash leaves the old file or the new one, never a torn one:
//! a temporary file (mode 0600: sealed or not, it is nobody else's business), fsync, rename over
//! the target, fsync of the directory (the rename is durable only once the directory is).

use std::io::Write;
use std::path::Path;

/// The extension of the temporary file beside the target while it is written.
pub const TEMPORARY_EXTENSION: &str = "tmp";

/// Replaces `path` with `bytes` durably and atomically. The error is the step's, with its path.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), (std::path::PathBuf, std::io::Error)> {
    let temporary = path.with_extension(TEMPORARY_EXTENSION);
    let at = |p: &Path| {
        let p = p.to_path_buf();
        move |e| (p, e)
    };
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temporary).map_err(at(&temporary))?;
        file.write_all(bytes).map_err(at(&temporary))?;
        file.sync_all().map_err(at(&temporary))?;
    }
    std::fs::rename(&temporary, path).map_err(at(path))?;
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
