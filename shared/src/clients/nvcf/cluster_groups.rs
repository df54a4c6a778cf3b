//! The account's cluster groups (`GET /v2/nvcf/clusterGroups`): the GPU clusters functions
//! can be placed on, with their GPUs and instance types. Upstream's `cluster list`.

use super::client::Client;
use super::credentials::Bearer;
use super::endpoints::Service;
use super::view::View;
use crate::base::error::Result;
use reqwest::Method;
use serde_json::{Value, json};

pub struct ClusterGroups<'a> {
    pub client: &'a Client,
}

impl ClusterGroups<'_> {
    /// Every group as the API returns it. The admin token minted by `init` lacks the
    /// `list_cluster_groups` scope this needs (the API says 403; `--token` gives another).
    pub async fn list(&self) -> Result<Vec<Value>> {
        let req = self
            .client
            .request(Service::Api, Method::GET, "/v2/nvcf/clusterGroups")
            .bearer(Bearer::Admin);
        let v: Value = self.client.json(&req).await?;
        Ok(v["clusterGroups"].as_array().cloned().unwrap_or_default())
    }
}

/// `cluster list`'s view: the groups as the API returned them, a row and a name each.
pub fn view(list: Vec<Value>) -> View {
    let names = list
        .iter()
        .map(|g| format!("clustergroup/{}", g["name"].as_str().unwrap_or("-")))
        .collect();
    let rows = rows(&list);
    View::new(json!({"clusterGroups": list}))
        .columns(
            &["NAME", "ID", "GPUS (INSTANCE TYPES)", "CLUSTERS"],
            rows,
            "No cluster groups.",
        )
        .names(names)
}

/// One table row per group: name, id, GPUs with their instance types, clusters.
pub fn rows(groups: &[Value]) -> Vec<Vec<String>> {
    let names = |list: &Value, key: &str| -> String {
        let found: Vec<String> = list
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i[key].as_str().map(str::to_owned))
            .collect();
        if found.is_empty() {
            "-".to_owned()
        } else {
            found.join(",")
        }
    };
    groups
        .iter()
        .map(|g| {
            let gpus: Vec<String> = g["gpus"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|gpu| {
                    format!(
                        "{} ({})",
                        gpu["name"].as_str().unwrap_or("-"),
                        names(&gpu["instanceTypes"], "name")
                    )
                })
                .collect();
            vec![
                g["name"].as_str().unwrap_or("-").to_owned(),
                g["id"].as_str().unwrap_or("-").to_owned(),
                if gpus.is_empty() {
                    "-".to_owned()
                } else {
                    gpus.join(" ")
                },
                names(&g["clusters"], "name"),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_row_names_the_gpus_their_instance_types_and_the_clusters() {
        let groups = [
            json!({"id": "g-1", "name": "GFN", "gpus": [
            {"name": "A10G", "instanceTypes": [{"name": "NCP.GPU.A10G_1x"}, {"name": "NCP.GPU.A10G_2x"}]}],
            "clusters": [{"id": "c-1", "name": "gpu-a"}]}),
            json!({"name": "empty"}),
        ];
        assert_eq!(
            rows(&groups),
            [
                vec![
                    "GFN",
                    "g-1",
                    "A10G (NCP.GPU.A10G_1x,NCP.GPU.A10G_2x)",
                    "gpu-a"
                ],
                vec!["empty", "-", "-", "-"],
            ]
        );
    }
}
