//! `dump` of the planes a command line names, and the lines that say what was written.

use super::{DumpOptions, DumpSummary, default_path, dump};
use crate::base::error::Result;
use crate::model::stack::catalog::Catalog;
use crate::operations::reach::Reach;
use crate::operations::stack::status::Clusters;
use std::path::PathBuf;

/// Writes to `out`, by default `nvcf-dump-<time>.tar.gz`.
pub async fn dump_planes(
    reach: &Reach<'_>,
    out: Option<PathBuf>,
    opts: &DumpOptions,
) -> Result<DumpSummary> {
    let clusters = Clusters::of(reach).await?;
    let out = out.unwrap_or_else(default_path);
    dump(Catalog::embedded(), &clusters, &out, opts).await
}

impl DumpSummary {
    pub fn text(&self) -> String {
        let mut text = format!(
            "support bundle written to {} ({} files, secrets {})",
            self.path,
            self.files,
            if self.redacted {
                "redacted"
            } else {
                "NOT redacted"
            }
        );
        for n in &self.stuck_namespaces {
            text.push_str(&format!("\nstuck namespace: {n}"));
        }
        for w in &self.warnings {
            text.push_str(&format!("\nwarning: {w}"));
        }
        text
    }
}
