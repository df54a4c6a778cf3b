//! Files we own: private (0600 files, 0700 directories) and replaced atomically.

use crate::base::error::{Error, Result};
use std::fs;
use std::io::Write;
use std::path::Path;

pub fn io_error(verb: &str, path: &Path, e: std::io::Error) -> Error {
    use std::io::ErrorKind::{IsADirectory, NotADirectory, NotFound, PermissionDenied};
    let category = match e.kind() {
        PermissionDenied | IsADirectory | NotADirectory | NotFound => {
            crate::base::error::Category::InputMissing
        }
        _ => crate::base::error::Category::Io,
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
        .prefix(&temp_prefix(path))
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

/// `.NAME.tmp-`: the temporary files of `path` alone carry it, so they can be told apart
/// from anything else in a directory the user chose.
fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.tmp-")
}

/// Removes temporary files a killed writer of `path` left behind. Call it only while
/// holding the lock every writer of `path` takes, so no live write is removed.
pub fn remove_stale_temps(path: &Path) {
    let (Some(dir), prefix) = (path.parent(), temp_prefix(path)) else {
        return;
    };
    let Ok(entries) = fs::read_dir(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn private_file_permissions() -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    fs::Permissions::from_mode(0o600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_killed_writers_temp_files_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        write_atomic(&state, b"{}\n").unwrap();
        for left in [".state.json.tmp-abc123", ".state.json.tmp-zzz"] {
            fs::write(dir.path().join(left), b"{\"tok").unwrap();
        }
        for other in [".tmp-editor", ".config.yaml.tmp-1", "state.json.bak"] {
            fs::write(dir.path().join(other), b"x").unwrap();
        }
        remove_stale_temps(&state);
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                ".config.yaml.tmp-1",
                ".tmp-editor",
                "state.json",
                "state.json.bak"
            ]
        );
        assert_eq!(fs::read(&state).unwrap(), b"{}\n");
    }
}
