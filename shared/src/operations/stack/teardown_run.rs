//! `helm nvcf teardown` as one operation: plan the uninstall, then show it as YAML
//! (`--dry-run`), or confirm it and run it.

use super::render::Planes;
use super::teardown;
use crate::base::env::EnvLookup;
use crate::base::error::Result;
use crate::base::events::Emitter;
use crate::base::plan::Plan;
use crate::clients::helm::Helm;
use crate::model::stack::catalog::Catalog;
use crate::model::stack::inputs::Inputs;

pub struct TeardownRequest<'a> {
    pub inputs: &'a Inputs,
    pub planes: Planes,
    pub dry_run: bool,
    pub remove_persistent: bool,
    pub yes: bool,
    /// What a person types to confirm: the kube context (or cluster) being torn down.
    pub name: &'a str,
}

pub enum Teardown {
    /// `--dry-run`: the objects that would go, as `kubectl delete -f` reads them.
    Yaml(String),
    Done(Plan),
}

pub async fn run(
    helm: &Helm,
    client: &kube::Client,
    req: TeardownRequest<'_>,
    env: &dyn EnvLookup,
    events: &Emitter,
) -> Result<Teardown> {
    let catalog = Catalog::embedded();
    let plan = teardown::plan(catalog, req.inputs, req.planes)?;
    let inventory = teardown::persistent_inventory(client, &plan).await?;
    if req.dry_run {
        let yaml = teardown::delete_yaml(helm, &plan, &inventory, req.remove_persistent).await?;
        return Ok(Teardown::Yaml(yaml));
    }
    let mut what: Vec<String> = plan
        .releases
        .iter()
        .map(|(r, ns)| format!("uninstall release {r} -n {ns}"))
        .collect();
    if req.remove_persistent {
        what.push("and DESTROY this persistent state:".into());
        what.extend(inventory.iter().map(|o| format!("  {}", o.display())));
        what.extend(
            plan.persistent_namespaces
                .iter()
                .map(|ns| format!("  Namespace/{ns}")),
        );
    }
    teardown::confirm(&what, req.name, req.yes, env)?;
    let report = teardown::execute_evented(
        helm,
        client,
        &plan,
        &inventory,
        req.remove_persistent,
        &catalog.helm.timeout,
        Some(events),
    )
    .await?;
    Ok(Teardown::Done(report))
}
