//! Reads what `down` and `uninstall` plan from: both planes' clusters and releases, the
//! account's registration rows in SIS, and the persistent state each plane holds.

use super::plan::{DownPlan, PlanInput, Shape, build};
use super::{Side, join};
use crate::base::error::{Error, Result};
use crate::clients::helm::Helm;
use crate::clients::nvcf::Session;
use crate::clients::nvcf::sis::{Cluster, Sis};
use crate::model::stack::catalog::Catalog;
use crate::model::stack::inputs::Inputs;
use crate::operations::reach::Reach;
use crate::operations::stack::render::Planes;
use crate::operations::stack::status::{Clusters, PlaneCluster, helm_releases};
use crate::operations::stack::teardown::{self, ObjectRef};
use std::path::PathBuf;

/// What `down` and `uninstall` are told about the stack and the account.
pub struct TeardownChoice {
    /// The stack config `up` installed from (its add-ons and namespaces decide what goes).
    pub stack_config: Option<PathBuf>,
    /// Also delete persistent state.
    pub remove_persistent: bool,
    /// The account the clusters are registered under.
    pub nca_id: Option<String>,
}

pub struct Prepared {
    pub plan: DownPlan,
    pub control: Side,
    pub compute: Side,
    pub session: Option<Session>,
}

/// What the plan is for, and which registration rows it deletes.
pub struct Scope<'a> {
    pub shape: Shape,
    pub cluster: String,
    /// `Some(name)`: the rows of that cluster, `Some(None)`: every row, `None`: none.
    pub rows: Option<Option<&'a str>>,
    pub notes: Vec<String>,
}

async fn sides(reach: &Reach<'_>) -> Result<(Side, Side)> {
    let clusters = Clusters::of(reach).await?;
    let side = |c: &PlaneCluster| {
        let context = c.context.clone();
        let client = c.client.clone();
        let kubeconfig = reach.sel.kubeconfig.clone();
        async move {
            let helm = Helm::from_env(reach.env, Some(context.clone()))
                .await?
                .with_kubeconfig(kubeconfig);
            Ok::<_, Error>(Side {
                context,
                client,
                helm,
            })
        }
    };
    let control = side(&clusters.control).await?;
    let compute = side(clusters.compute.as_ref().unwrap_or(&clusters.control)).await?;
    Ok((control, compute))
}

/// The account to act under: the flag, the profile's registration, its client_id.
fn nca_id(choice: &TeardownChoice, session: Option<&Session>) -> Option<String> {
    choice
        .nca_id
        .clone()
        .or_else(|| {
            session
                .and_then(|s| s.profile.read_state().ok())
                .and_then(|s| s.registration)
                .map(|r| r.nca_id)
                .filter(|n| !n.is_empty())
        })
        .or_else(|| {
            session
                .map(|s| s.settings.get("client_id").to_owned())
                .filter(|n| !n.is_empty())
        })
}

/// SIS rows for `name` (or all rows), falling back to the profile's own registration when
/// SIS cannot be asked (plans only: the run needs SIS anyway).
async fn rows(
    session: Option<&Session>,
    nca: &str,
    name: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<Vec<Cluster>> {
    let listed = match session {
        Some(s) => Sis { client: &s.client }.list(nca).await,
        None => Err(Error::config("no NVCF session for this profile")),
    };
    match listed {
        Ok(all) => Ok(all
            .into_iter()
            .filter(|c| name.is_none_or(|n| c.cluster_name == n || c.cluster_id == n))
            .collect()),
        Err(e) => {
            notes.push(format!(
                "SIS could not be read ({}); rows come from the profile",
                e.message()
            ));
            let saved = session
                .and_then(|s| s.profile.read_state().ok())
                .and_then(|s| s.registration)
                .filter(|r| name.is_none_or(|n| r.cluster_name == n));
            Ok(saved
                .map(|r| {
                    serde_json::from_value(serde_json::json!({
                        "clusterId": r.cluster_id,
                        "clusterName": r.cluster_name,
                        "clusterGroupId": r.cluster_group_id,
                    }))
                })
                .transpose()
                .map_err(|e| Error::internal(format!("registration row: {e}")))?
                .into_iter()
                .collect())
        }
    }
}

/// The persistent objects of `plane` its teardown would delete, when the shape takes it.
async fn inventory(
    catalog: &Catalog,
    inputs: &Inputs,
    plane: Planes,
    side: &Side,
    taken: bool,
) -> Result<Vec<ObjectRef>> {
    if !taken {
        return Ok(Vec::new());
    }
    let plan = teardown::plan(catalog, inputs, plane)?;
    teardown::persistent_inventory(&side.client, &plan).await
}

pub async fn prepare(
    reach: &Reach<'_>,
    choice: &TeardownChoice,
    scope: Scope<'_>,
) -> Result<Prepared> {
    let Scope {
        shape,
        cluster,
        rows: row_filter,
        mut notes,
    } = scope;
    let catalog = Catalog::embedded();
    let inputs = Inputs::load(
        choice.stack_config.as_deref(),
        &[],
        &[],
        reach.env,
        &mut std::io::stderr(),
        false,
    )?;
    let (control, compute) = sides(reach).await?;
    let session = reach.session().ok();
    let (installed_control, installed_compute) = join(
        helm_releases(&control.client),
        helm_releases(&compute.client),
    )
    .await;
    let (installed_control, installed_compute) = (installed_control?, installed_compute?);
    let nca = nca_id(choice, session.as_ref()).unwrap_or_else(|| "nvcf-default".into());
    let found = match row_filter {
        Some(name) => rows(session.as_ref(), &nca, name, &mut notes).await?,
        None => Vec::new(),
    };
    let inventory_control =
        inventory(catalog, &inputs, Planes::Control, &control, shape.control).await?;
    let inventory_compute =
        inventory(catalog, &inputs, Planes::Compute, &compute, shape.compute).await?;
    let functions = if shape.compute {
        teardown::function_workloads(&compute.client).await?
    } else {
        Vec::new()
    };
    let plan = build(PlanInput {
        catalog,
        functions,
        inputs: &inputs,
        shape,
        cluster,
        control_context: &control.context,
        compute_context: &compute.context,
        installed_control: &installed_control,
        installed_compute: &installed_compute,
        rows: found,
        nca_id: &nca,
        remove_persistent: choice.remove_persistent,
        inventory_control,
        inventory_compute,
        timeout: &catalog.helm.timeout,
        notes,
    })?;
    Ok(Prepared {
        plan,
        control,
        compute,
        session,
    })
}
