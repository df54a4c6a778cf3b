//! Bringing planes up: `kubectl nvcf up`, `install --control-plane|--compute-plane` and
//! `add-compute-plane`, as the eight phases of upstream's `self-hosted up` (preflight,
//! render and apply the control plane, admin token, cluster registration, render and
//! apply the compute plane, verify), each with its ETA and its JSONL events.
//!
//! The stack is installed as real helm releases, wave by wave from the catalog's `needs`,
//! idempotently: a re-run after a failure or an interrupt converges.

mod apply;
pub mod choice;
mod gates;
pub mod install;
pub mod plan;
mod progress;
pub(crate) mod releases;
pub mod repair;
pub mod repair_then_up;
pub mod run;
pub mod targets;
pub mod up;

pub use choice::{StackChoice, check_cluster_name};
pub use install::{AddComputePlane, InstallRequest, Installed, add_compute_plane, install};
pub use plan::{UpPlan, UpRelease};
pub use repair_then_up::{RepairRequest, repair_then_up};
pub use run::{ComputeSource, PlaneTarget, Request, UpReport, public_routes, run};
pub use up::{UpRequest, plan_up, up};

use crate::model::stack::catalog::Plane;

/// One of the eight phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhaseSpec {
    pub num: u32,
    /// The wire name in events (`phase`).
    pub wire: &'static str,
    pub label: &'static str,
    /// P50 seconds on a small cluster: what plans and progress bars show.
    pub eta_sec: u64,
}

pub const TOTAL_PHASES: u32 = 8;

pub const PREFLIGHT: PhaseSpec = PhaseSpec {
    num: 1,
    wire: "preflight",
    label: "Preflight checks",
    eta_sec: 5,
};
pub const RENDER_CP: PhaseSpec = PhaseSpec {
    num: 2,
    wire: "render-cp",
    label: "Render control plane",
    eta_sec: 10,
};
pub const APPLY_CP: PhaseSpec = PhaseSpec {
    num: 3,
    wire: "apply-cp",
    label: "Apply control plane",
    eta_sec: 360,
};
pub const ADMIN_TOKEN: PhaseSpec = PhaseSpec {
    num: 4,
    wire: "admin-token",
    label: "Admin token",
    eta_sec: 5,
};
pub const REGISTER: PhaseSpec = PhaseSpec {
    num: 5,
    wire: "register",
    label: "Register compute cluster",
    eta_sec: 5,
};
pub const RENDER_COMPUTE: PhaseSpec = PhaseSpec {
    num: 6,
    wire: "render-compute-plane",
    label: "Render compute plane",
    eta_sec: 5,
};
pub const APPLY_COMPUTE: PhaseSpec = PhaseSpec {
    num: 7,
    wire: "apply-compute-plane",
    label: "Apply compute plane",
    eta_sec: 120,
};
pub const VERIFY: PhaseSpec = PhaseSpec {
    num: 8,
    wire: "verify",
    label: "Verify",
    eta_sec: 30,
};

pub const PHASES: [PhaseSpec; 8] = [
    PREFLIGHT,
    RENDER_CP,
    APPLY_CP,
    ADMIN_TOKEN,
    REGISTER,
    RENDER_COMPUTE,
    APPLY_COMPUTE,
    VERIFY,
];

/// Which phases a command runs: `up` all of them, `install` one plane's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `up`: both planes.
    All,
    /// `install --control-plane`.
    ControlPlane,
    /// `install --compute-plane` and `add-compute-plane`.
    ComputePlane,
}

impl Scope {
    pub fn phases(self) -> Vec<PhaseSpec> {
        PHASES
            .into_iter()
            .filter(|p| match self {
                Scope::All => true,
                Scope::ControlPlane => p.num <= APPLY_CP.num,
                Scope::ComputePlane => p.num == PREFLIGHT.num || p.num >= ADMIN_TOKEN.num,
            })
            .collect()
    }

    pub fn includes(self, plane: Plane) -> bool {
        match self {
            Scope::All => true,
            Scope::ControlPlane => plane == Plane::Control,
            Scope::ComputePlane => plane == Plane::Compute,
        }
    }
}

/// The lease `up` and `install` hold while they change a cluster.
pub const LOCK_NAME: &str = "nvcf-cli-up";
