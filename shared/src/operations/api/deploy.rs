//! `function deploy`: put a function version on GPUs, change its instance counts, show or
//! remove its deployment.

use crate::base::confirm::confirm;
use crate::base::error::{Error, Result};
use crate::base::events::Emitter;
use crate::base::output::{column_table, key_value_table, note};
use crate::base::plugin::nvcf;
use crate::clients::nvcf::Session;
use crate::clients::nvcf::functions::{Deployment, Functions};
use crate::clients::nvcf::view::{View, field};
use crate::clients::nvcf::wait::until_active;
use crate::model::settings::EnvLookup;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Duration;

fn functions(session: &Session) -> Functions<'_> {
    Functions {
        client: &session.client,
    }
}

fn deployment_view(d: &Deployment) -> View {
    let rows = d
        .deployment_specifications
        .iter()
        .map(|s| {
            vec![
                field(s, "gpu"),
                field(s, "instanceType"),
                field(s, "minInstances"),
                field(s, "maxInstances"),
                field(s, "gpuSpecificationId"),
            ]
        })
        .collect::<Vec<_>>();
    let mut table = key_value_table(&[
        ("FUNCTION", d.function_id.clone()),
        ("VERSION", d.function_version_id.clone()),
        ("DEPLOYMENT", d.deployment_id.clone()),
        ("STATUS", d.function_status.clone()),
    ]);
    table.push('\n');
    table.push_str(&column_table(
        &["gpu", "instance type", "min", "max", "spec id"],
        rows,
    ));
    View::new(d)
        .text(table)
        .names(vec![format!("deployment/{}", d.deployment_id)])
}

/// How long `create` waits for the deployment to become ACTIVE, if at all.
pub struct Wait {
    pub timeout: Duration,
    pub poll_interval: Duration,
    /// Return once the deployment is accepted.
    pub no_wait: bool,
}

/// Shows the plan on stderr, then (unless `dry_run`) deploys `specs` and waits for ACTIVE;
/// the progress `events` start only when there is a wait to show.
pub async fn create(
    session: &Session,
    (fid, vid): (&str, &str),
    specs: &[Value],
    dry_run: bool,
    wait: Wait,
    events: impl FnOnce() -> Arc<Emitter>,
) -> Result<View> {
    let fns = functions(session);
    let name = if dry_run {
        String::new()
    } else {
        fns.get(fid, vid, false).await?.name
    };
    for s in specs {
        note(&format!(
            "Plan: deploy function {name:?} ({fid}, version {vid}) on {} x {} ({}..{} instances{})",
            field(s, "gpu"),
            field(s, "instanceType"),
            field(s, "minInstances"),
            field(s, "maxInstances"),
            s["backend"]
                .as_str()
                .map(|b| format!(", backend {b}"))
                .unwrap_or_default(),
        ));
    }
    if dry_run {
        let body = json!({"functionId": fid, "versionId": vid, "deploymentSpecifications": specs});
        return Ok(View::preview(&body));
    }
    let d = fns.deploy(fid, vid, specs).await?;
    if wait.no_wait || d.function_status == "ACTIVE" {
        return Ok(deployment_view(&d));
    }
    until_active(
        &session.client,
        fid,
        vid,
        wait.timeout,
        wait.poll_interval,
        &events(),
    )
    .await?;
    Ok(deployment_view(&fns.deployment(fid, vid).await?))
}

/// The instance counts of one GPU specification, by GPU and instance type.
pub struct SpecUpdate {
    pub gpu: String,
    pub instance_type: String,
    pub min_instances: Option<u32>,
    pub max_instances: Option<u32>,
    pub autoscaling_policy: Option<String>,
}

impl SpecUpdate {
    fn body(&self) -> Result<Map<String, Value>> {
        let mut body = Map::new();
        if let Some(m) = self.min_instances {
            body.insert("minInstances".into(), json!(m));
        }
        if let Some(m) = self.max_instances {
            body.insert("maxInstances".into(), json!(m));
        }
        if let Some(p) = &self.autoscaling_policy {
            body.insert(
                "autoscalingConfigurationPolicy".into(),
                json!(p.to_ascii_uppercase()),
            );
        }
        if body.is_empty() {
            return Err(Error::usage("nothing to update")
                .hint("pass --min-instances, --max-instances or --autoscaling-policy"));
        }
        if let (Some(min), Some(max)) = (self.min_instances, self.max_instances)
            && (max == 0 || min > max)
        {
            return Err(Error::usage(format!(
                "need 0 <= --min-instances ({min}) <= --max-instances ({max}) and --max-instances > 0"
            )));
        }
        Ok(body)
    }
}

pub async fn update(session: &Session, (fid, vid): (&str, &str), u: SpecUpdate) -> Result<View> {
    let body = u.body()?;
    let fns = functions(session);
    let d = fns.deployment(fid, vid).await?;
    let (gpu, instance_type) = (&u.gpu, &u.instance_type);
    let matching: Vec<_> = d
        .deployment_specifications
        .iter()
        .filter(|s| {
            field(s, "gpu").eq_ignore_ascii_case(gpu)
                && field(s, "instanceType").eq_ignore_ascii_case(instance_type)
        })
        .collect();
    let spec = match matching.as_slice() {
        [one] => field(one, "gpuSpecificationId"),
        _ => {
            return Err(Error::not_found(format!(
                "deployment of {fid} has {} specifications for {gpu}/{instance_type}",
                matching.len()
            ))
            .hint(format!(
                "check the GPU and instance type with `{}`",
                nvcf("function deploy get")
            )));
        }
    };
    let updated = fns
        .update_gpu_spec(&d.deployment_id, &spec, &Value::Object(body))
        .await?;
    Ok(View::new(&updated).pairs(&[
        ("SPEC", spec.clone()),
        ("GPU", field(&updated, "gpu")),
        ("INSTANCE TYPE", field(&updated, "instanceType")),
        ("MIN", field(&updated, "minInstances")),
        ("MAX", field(&updated, "maxInstances")),
    ]))
}

pub async fn get(session: &Session, (fid, vid): (&str, &str)) -> Result<View> {
    Ok(deployment_view(
        &functions(session).deployment(fid, vid).await?,
    ))
}

/// Removes the deployment once confirmed; `graceful` lets queued requests drain first.
pub async fn remove(
    session: &Session,
    (fid, vid): (&str, &str),
    graceful: bool,
    yes: bool,
    env: &dyn EnvLookup,
) -> Result<View> {
    confirm(
        &format!("remove the deployment of function {fid} version {vid}"),
        yes,
        env,
    )?;
    let f = functions(session).undeploy(fid, vid, graceful).await?;
    Ok(View::new(&f)
        .text(format!(
            "deployment of {} ({fid}, version {vid}) removed; status {}",
            f.name, f.status
        ))
        .names(vec![format!("function/{fid}")]))
}
