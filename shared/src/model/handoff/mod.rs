//! The files a split install hands from one team to another, in upstream's formats:
//! the control-plane profile (`ControlPlaneProfile`, written by the control-plane team)
//! and the NVCA registration values (`CLUSTER-register-values.yaml`, written when a GPU
//! cluster registers, read when its NVCA operator is installed).

pub mod export;
pub mod profile;
pub mod register_values;
pub mod trust;

use crate::base::error::{Error, Result};
use std::path::Path;

/// Writes a handoff file readable by its owner only: the files carry account ids and
/// trust material that another team acts on.
pub(crate) fn write_private(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::io(format!("cannot create {}: {e}", dir.display()))
                .hint("choose a writable path with --output")
        })?;
    }
    crate::base::files::write_atomic(path, text.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(())
}

/// `localhost`, `*.localhost` or an IP literal: names no DNS gives, so a request there
/// needs the service's name in a Host header.
pub(crate) fn needs_host_header(url: &str) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    match u.host() {
        Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => true,
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}
