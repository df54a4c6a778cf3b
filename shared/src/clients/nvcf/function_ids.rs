//! Which function version a command means: positional ids, then flags, then a file's ids,
//! then the profile's current function; a function with one version needs no version id.

use super::Session;
use super::functions::Functions;
use crate::base::error::{Error, Result};
use clap::Args;

/// A function version: positional ids, then flags, then the profile's current function.
#[derive(Args, Debug, Clone, Default)]
pub struct Ids {
    /// Function id (default: the current function)
    #[arg(value_name = "FUNCTION_ID")]
    pub function_id_arg: Option<String>,
    /// Version id (default: the current version)
    #[arg(value_name = "VERSION_ID")]
    pub version_id_arg: Option<String>,
    /// Function id, as a flag (upstream's spelling)
    #[arg(long = "function-id", conflicts_with = "function_id_arg")]
    pub function_id: Option<String>,
    /// Version id, as a flag (a function with one version needs none)
    #[arg(long = "version-id", conflicts_with = "version_id_arg")]
    pub version_id: Option<String>,
}

impl Ids {
    /// Resolves the ids; a function with one version needs no version id.
    pub async fn resolve(
        &self,
        session: &Session,
        from_file: (Option<String>, Option<String>),
    ) -> Result<(String, String)> {
        let state = session.profile.read_state()?;
        let fid = self
            .function_id_arg
            .clone()
            .or_else(|| self.function_id.clone())
            .or(from_file.0);
        let vid = self
            .version_id_arg
            .clone()
            .or_else(|| self.version_id.clone())
            .or(from_file.1);
        match (fid, vid) {
            (Some(f), Some(v)) => Ok((f, v)),
            (Some(f), None)
                if state.function_id.as_deref() == Some(&f) && state.version_id.is_some() =>
            {
                Ok((f, state.version_id.unwrap_or_default()))
            }
            (Some(f), None) => {
                let versions = Functions {
                    client: &session.client,
                }
                .versions(&f)
                .await?;
                match versions.as_slice() {
                    [one] => Ok((f, one.version_id.clone())),
                    _ => Err(Error::usage(format!(
                        "function {f} has {} versions: say which",
                        versions.len()
                    ))
                    .hint(format!(
                        "pass --version-id (see `{nvcf_cmd0}`)",
                        nvcf_cmd0 = crate::base::plugin::nvcf("function versions")
                    ))),
                }
            }
            (None, _) => match (state.function_id, state.version_id) {
                (Some(f), Some(v)) => Ok((f, v)),
                _ => Err(
                    Error::usage("no function given and no current function").hint(format!(
                        "pass --function-id and --version-id, or create one with `{nvcf_cmd0}`",
                        nvcf_cmd0 = crate::base::plugin::nvcf("function create")
                    )),
                ),
            },
        }
    }
}
