//! `status` once: both planes read and assessed, with the profile's section (when no
//! cluster can be reached it still shows); or kept current with `--watch`.

use super::watch::watch;
use super::{Clusters, Request, StatusReport, collect, report};
use crate::base::error::{Category, Error, Result};
use crate::model::profile::Registration;
use crate::model::profile::view::current;
use crate::model::stack::catalog::Catalog;
use crate::operations::reach::Reach;

/// The registration this profile saved, if it can be read.
pub fn saved_registration(reach: &Reach<'_>) -> Option<Registration> {
    current(reach.profile, reach.sel, reach.env)
        .ok()
        .and_then(|p| p.read_state().ok())
        .and_then(|s| s.registration)
}

impl Clusters {
    /// The planes' clusters as the command line names them.
    pub async fn of(reach: &Reach<'_>) -> Result<Clusters> {
        Clusters::resolve(reach.sel, reach.planes, reach.env, &reach.user_agent()).await
    }
}

/// `--watch`, with its clusters resolved before anything is drawn.
pub struct Watcher {
    clusters: Clusters,
    request: Request,
}

impl Watcher {
    pub async fn open(reach: &Reach<'_>, request: Request) -> Result<Watcher> {
        Ok(Watcher {
            clusters: Clusters::of(reach).await?,
            request,
        })
    }

    /// Each fresh report goes to `update`, which says whether to go on.
    pub async fn run(&self, update: impl FnMut(&StatusReport) -> Result<bool>) -> Result<()> {
        let catalog = Catalog::embedded();
        watch(catalog, &self.clusters, || self.request.clone(), update).await
    }
}

/// Prints the report with `print`; the outcome is the profile's error (`config_error`)
/// first, then the clusters'.
pub async fn once(
    reach: &Reach<'_>,
    request: Request,
    config_error: Option<Error>,
    print: &mut dyn FnMut(&StatusReport) -> Result<()>,
) -> Result<()> {
    let catalog = Catalog::embedded();
    let clusters = match Clusters::of(reach).await {
        Ok(c) => c,
        Err(e) => {
            let mut r = report_without_cluster(request, &e.message());
            r.identity.notes.extend(e.remediation());
            print(&r)?;
            // Without any kubeconfig this is an API-only setup, not a failure.
            let no_kubeconfig = e.message().starts_with("no kubeconfig found");
            return match config_error {
                Some(c) => Err(c),
                None if no_kubeconfig => Ok(()),
                None => Err(e),
            };
        }
    };
    let r = collect(catalog, &clusters, request).await?;
    print(&r)?;
    if let Some(c) = config_error {
        return Err(c);
    }
    match &r.cluster_failure {
        Some(failure) => Err(failure.to_error()),
        None => Ok(()),
    }
}

fn report_without_cluster(req: Request, why: &str) -> StatusReport {
    report(
        Catalog::embedded(),
        ("-", "-"),
        req,
        vec![Err(Error::new(Category::Config, why.to_owned()))],
    )
}
