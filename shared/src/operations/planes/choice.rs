//! What `up`, `install`, `add-compute-plane` and `repair` are told about the stack: its
//! inputs, where its charts come from, and the account and region a cluster joins.

use crate::base::error::{Error, Result};
use crate::model::stack::inputs::{Inputs, StackArgs};
use crate::operations::stack::render::ChartSource;

pub struct StackChoice {
    /// oci://REGISTRY/REPOSITORY or dir:PATH; the stack config's when not given.
    pub chart_source: Option<String>,
    pub nca_id: Option<String>,
    pub region: String,
    pub stack: StackArgs,
}

impl StackChoice {
    pub fn source(&self, inputs: &Inputs) -> Result<ChartSource> {
        match &self.chart_source {
            Some(s) => ChartSource::parse(s),
            None => ChartSource::from_config(&inputs.config),
        }
    }

    /// The chart source as plans show it.
    pub fn source_text(&self, inputs: &Inputs) -> String {
        self.chart_source
            .clone()
            .or_else(|| inputs.config.chart_source.clone())
            .unwrap_or_else(|| {
                format!(
                    "oci://{}/{}",
                    inputs.config.registry, inputs.config.repository
                )
            })
    }
}

pub fn check_cluster_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(
            Error::usage(format!("--cluster-name {name:?} is not an RFC 1123 label")).hint(
                "use lower-case letters, digits and '-', at most 63 characters, e.g. gpu-east-1",
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names_are_rfc1123_labels() {
        assert!(check_cluster_name("gpu-east-1").is_ok());
        assert!(check_cluster_name("GPU").is_err());
        assert!(check_cluster_name("-a").is_err());
        assert!(check_cluster_name("").is_err());
    }
}
