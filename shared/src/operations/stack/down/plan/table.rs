//! The `down` plan for people: cluster and ETA, phases, releases, SIS rows, what goes and
//! what stays, and (wide) every command.

use super::DownPlan;
use crate::base::output::{Report, column_table, key_value_table};
use crate::base::plan::phases_table;

impl Report for DownPlan {
    fn table(&self, wide: bool) -> String {
        let mut out = key_value_table(&[
            ("CLUSTER", self.cluster.clone()),
            ("ETA", format!("{}s", self.total_eta_sec)),
        ]);
        out.push('\n');
        out.push_str(&phases_table(&self.phases));
        out.push('\n');
        out.push_str(&self.releases_table(wide));
        out.push('\n');
        out.push_str(&self.rows_table());
        let kv = self.summary();
        if !kv.is_empty() {
            out.push('\n');
            out.push_str(&key_value_table(&kv));
        }
        if wide {
            out.push_str("\nCOMMANDS\n");
            for c in &self.commands {
                out.push_str(&format!("  {c}\n"));
            }
        }
        out
    }

    fn names(&self) -> Vec<String> {
        self.releases
            .iter()
            .filter(|r| r.installed)
            .map(|r| format!("release/{}", r.release))
            .collect()
    }
}

impl DownPlan {
    /// The installed releases (every one when `wide`) and what happens to each.
    fn releases_table(&self, wide: bool) -> String {
        let rows: Vec<Vec<String>> = self
            .releases
            .iter()
            .filter(|r| wide || r.installed)
            .map(|r| {
                vec![
                    r.plane.as_str().to_owned(),
                    r.release.clone(),
                    r.namespace.clone(),
                    if r.installed {
                        "uninstall"
                    } else {
                        "not installed"
                    }
                    .to_owned(),
                ]
            })
            .collect();
        if rows.is_empty() {
            "RELEASES   none installed\n".to_owned()
        } else {
            column_table(&["plane", "release", "namespace", "action"], rows)
        }
    }

    fn rows_table(&self) -> String {
        if self.registration_rows.is_empty() {
            "REGISTRATION   no SIS row to delete\n".to_owned()
        } else {
            column_table(
                &["cluster", "cluster id", "account"],
                self.registration_rows
                    .iter()
                    .map(|r| {
                        vec![
                            r.cluster_name.clone(),
                            r.cluster_id.clone(),
                            r.nca_id.clone(),
                        ]
                    })
                    .collect(),
            )
        }
    }

    /// What else a person should see: functions removed first, namespaces, what is
    /// destroyed, what is kept, and the notes.
    fn summary(&self) -> Vec<(&'static str, String)> {
        let mut kv = Vec::new();
        if !self.functions.is_empty() {
            kv.push((
                "FUNCTIONS STILL DEPLOYED",
                format!(
                    "{} (removed first, finalizers cleared)",
                    self.functions.join(", ")
                ),
            ));
        }
        if !self.namespaces.is_empty() {
            kv.push(("DELETE NAMESPACES", self.namespaces.join(", ")));
        }
        if !self.remove_persistent.is_empty() {
            kv.push(("DESTROY", self.remove_persistent.join(", ")));
        }
        if !self.kept.is_empty() {
            kv.push(("KEEP", self.kept.join(", ")));
        }
        for n in &self.notes {
            kv.push(("NOTE", n.clone()));
        }
        kv
    }
}
