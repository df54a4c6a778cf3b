//! Server-side apply through the Rust client stack, and the audit log as evidence of
//! which calls a command made.

use anyhow::Result;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use nvcf_testenv::Env;
use serde_json::json;

#[tokio::test]
async fn server_side_apply_records_the_field_manager_and_detects_conflicts() -> Result<()> {
    let env = Env::shared();
    let ns = env.fresh_namespace("ssa")?;
    let client = env.client().await?;
    let api: Api<ConfigMap> = Api::namespaced(client, &ns);
    let cm = |value: &str| json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "applied" }, "data": { "key": value } });

    let applied = api
        .patch(
            "applied",
            &PatchParams::apply("nvcf-test"),
            &Patch::Apply(cm("one")),
        )
        .await?;
    assert_eq!(applied.data.unwrap()["key"], "one");
    let managers: Vec<_> = applied
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .map(|m| (m.manager, m.operation))
        .collect();
    assert!(
        managers.contains(&(Some("nvcf-test".into()), Some("Apply".into()))),
        "{managers:?}"
    );

    // Another manager claiming the same field conflicts unless it forces.
    let other = api
        .patch(
            "applied",
            &PatchParams::apply("someone-else"),
            &Patch::Apply(cm("two")),
        )
        .await;
    let Err(kube::Error::Api(status)) = other else {
        panic!("expected a conflict, got {other:?}")
    };
    assert_eq!(status.code, 409);
    let forced = api
        .patch(
            "applied",
            &PatchParams::apply("someone-else").force(),
            &Patch::Apply(cm("two")),
        )
        .await?;
    assert_eq!(forced.data.unwrap()["key"], "two");
    Ok(())
}

#[test]
fn audit_log_records_a_create_made_by_a_test() -> Result<()> {
    let env = Env::shared();
    let ns = env.fresh_namespace("audit-create")?;
    let audit = env.audit();
    let mark = audit.mark()?;
    env.kubectl_run(&[
        "create",
        "configmap",
        "evidence",
        "-n",
        &ns,
        "--from-literal=a=b",
    ])?;
    let creates = audit.requests_matching(mark, &["create"], "kubectl/")?;
    let ours: Vec<_> = creates
        .iter()
        .filter(|e| e.namespace() == Some(ns.as_str()))
        .collect();
    assert_eq!(ours.len(), 1, "{creates:#?}");
    let event = ours[0];
    assert_eq!(event.resource(), Some("configmaps"));
    assert_eq!(
        event.object_ref.as_ref().unwrap().name.as_deref(),
        Some("evidence")
    );
    assert_eq!(event.user.username, "testenv-admin");
    assert_eq!(event.response_status.as_ref().unwrap().code, Some(201));
    Ok(())
}

#[test]
fn a_read_only_command_leaves_no_mutating_entry() -> Result<()> {
    let env = Env::shared();
    let ns = env.fresh_namespace("audit-read")?;
    env.kubectl_run(&["create", "configmap", "existing", "-n", &ns])?;
    let audit = env.audit();
    let mark = audit.mark()?;
    env.kubectl_run(&["get", "configmaps,pods,serviceaccounts", "-n", &ns])?;
    env.kubectl_run(&["describe", "configmap", "existing", "-n", &ns])?;
    let ours: Vec<_> = audit
        .requests_matching(mark, &[], "kubectl/")?
        .into_iter()
        .filter(|e| e.namespace() == Some(ns.as_str()))
        .collect();
    // The reads themselves are there, so the filter would have caught a write too.
    assert!(ours.iter().any(|e| e.verb == "list"), "{ours:#?}");
    assert!(ours.iter().any(|e| e.verb == "get"), "{ours:#?}");
    let writes: Vec<_> = ours.iter().filter(|e| e.is_mutating()).collect();
    assert!(writes.is_empty(), "read-only commands wrote: {writes:#?}");
    Ok(())
}
