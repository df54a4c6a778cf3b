//! Files we own: private (0600 files, 0700 directories) and replaced atomically.

use crate::error::{Error, Result};
use std::fs;
use std::io::Write;
use std::path::Path;

pub fn io_error(verb: &str, path: &Path, e: std::io::Error) -> Error {
    use std::io::ErrorKind::{IsADirectory, NotADirectory, NotFound, PermissionDenied};
    let category = match e.kind() {
        PermissionDenied | IsADirectory | NotADirectory | NotFound => {
            crate::error::Category::InputMissing
        }
        _ => crate::error::Category::Io,
    };
    Error::new(category, format!("cannot {verb} {}: {e}", path.display()))
        .hint(format!(
            "check that {} is a readable file with the right permissions",
            path.display()
        ))
        .with_source(e)
}

// The plugins ship for Linux and macOS only, so Unix permissions are always available.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| io_error("create", dir, e))?;
    }
    let mode = fs::metadata(dir)
        .map_err(|e| io_error("inspect", dir, e))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| io_error("restrict", dir, e))?;
    }
    Ok(())
}

/// Writes `bytes` to a temporary file beside `path` (0600), syncs it, and renames it over
/// `path`: readers see the old file or the new one, never a torn one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    ensure_private_dir(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .permissions(private_file_permissions())
        .tempfile_in(dir)
        .map_err(|e| io_error("create a temporary file in", dir, e))?;
    tmp.write_all(bytes)
        .map_err(|e| io_error("write", tmp.path(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| io_error("sync", tmp.path(), e))?;
    tmp.persist(path)
        .map_err(|e| io_error("replace", path, e.error))?;
    Ok(())
}

fn private_file_permissions() -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    fs::Permissions::from_mode(0o600)
}
