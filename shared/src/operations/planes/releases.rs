//! The values fingerprint that lets a re-run skip a release that is already deployed as
//! planned.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Chart, version and values: equal fingerprints mean `helm upgrade` would change nothing.
/// The fingerprint of a planned release: its chart, the version helm installs (a chart
/// directory's own, since a source tree says 0.0.0; else the pinned one) and its values,
/// so moving between a directory and a registry is a change to apply.
pub fn planned_fingerprint(
    release: &crate::model::stack::catalog::Release,
    chart: &crate::clients::helm::ChartRef,
    values: &Value,
) -> String {
    let version = match chart {
        crate::clients::helm::ChartRef::Path(dir) => {
            crate::model::stack::chart_deps::version(dir).unwrap_or_else(|| release.version.clone())
        }
        _ => release.version.clone(),
    };
    fingerprint(&release.chart, &version, values)
}

pub fn fingerprint(chart: &str, version: &str, values: &Value) -> String {
    let mut h = Sha256::new();
    h.update(chart.as_bytes());
    h.update([0]);
    h.update(version.as_bytes());
    h.update([0]);
    h.update(values.to_string().as_bytes());
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    // A label value holds at most 63 characters.
    hex[..40].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_fit_a_label_and_see_every_input() {
        let v = serde_json::json!({"a": 1});
        let f = fingerprint("c", "1.0.0", &v);
        assert_eq!(f.len(), 40);
        assert_ne!(f, fingerprint("c", "1.0.1", &v));
        assert_ne!(f, fingerprint("c", "1.0.0", &serde_json::json!({"a": 2})));
        assert_eq!(f, fingerprint("c", "1.0.0", &v));
    }
}
