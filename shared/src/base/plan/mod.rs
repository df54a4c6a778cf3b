//! One operation shape: what a mutating command will do (or did), as phases with ETAs and
//! steps, each naming what it acts on, the command a person could type and its state. Every
//! output mode renders from this one type: the table and wide views here, JSON and YAML
//! through serde. Commands with more to say embed a [`Plan`] or its [`Phase`]s and [`Step`]s.

mod table;

pub use table::{phases_table, steps_table};

use serde::Serialize;

/// A phase of a run, as upstream numbers and estimates them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Phase {
    pub phase_num: u32,
    /// The wire name: `uninstall-compute-plane`.
    pub phase: String,
    /// The name people read, where it differs from the wire name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub eta_sec: u64,
    /// The kube context (or service) the phase acts on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

impl Phase {
    pub fn new(phase_num: u32, phase: impl Into<String>, eta_sec: u64) -> Phase {
        Phase {
            phase_num,
            phase: phase.into(),
            label: None,
            eta_sec,
            context: None,
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Phase {
        self.label = Some(label.into());
        self
    }

    pub fn context(mut self, context: impl Into<String>) -> Phase {
        self.context = Some(context.into());
        self
    }

    /// The label if there is one, else the wire name.
    pub fn title(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.phase)
    }
}

/// Where a step stands: `planned` before a run (and in a dry run), one of the others after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepState {
    Planned,
    Done,
    Changed,
    Unchanged,
    Verified,
    Skipped,
    Failed,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Planned => "planned",
            StepState::Done => "done",
            StepState::Changed => "changed",
            StepState::Unchanged => "unchanged",
            StepState::Verified => "verified",
            StepState::Skipped => "skipped",
            StepState::Failed => "failed",
        }
    }
}

/// One step: what it acts on, the command a person could type, its phase, and its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase_num: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// What the step acts on or does: `deployment/nvcf-api`, `helm-uninstall`.
    pub step: String,
    /// The kubectl/helm a person would type to do it by hand.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub command: String,
    pub state: StepState,
    /// What happened, or why not.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl Step {
    pub fn new(step: impl Into<String>, state: StepState) -> Step {
        Step {
            phase_num: None,
            phase: None,
            step: step.into(),
            command: String::new(),
            state,
            detail: String::new(),
        }
    }

    pub fn phase(mut self, phase_num: u32, phase: impl Into<String>) -> Step {
        self.phase_num = Some(phase_num);
        self.phase = Some(phase.into());
        self
    }

    pub fn command(mut self, command: impl Into<String>) -> Step {
        self.command = command.into();
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Step {
        self.detail = detail.into();
        self
    }
}

/// What a mutating command will do or did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// What was asked: `restart deployment/nvcf-api in nvcf`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub action: String,
    /// True when nothing was (or will be) written.
    pub dry_run: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<Phase>,
    pub steps: Vec<Step>,
    /// What stays, on purpose.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<String>,
    /// What the operator should know next: propagation, follow-ups, caveats.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Plan {
    pub fn new(action: impl Into<String>, dry_run: bool) -> Plan {
        Plan {
            action: action.into(),
            dry_run,
            ..Plan::default()
        }
    }

    /// The state a step that will run has: `planned` in a dry run, `done` otherwise.
    pub fn will(&self) -> StepState {
        if self.dry_run {
            StepState::Planned
        } else {
            StepState::Done
        }
    }

    pub fn push(&mut self, step: impl Into<String>, state: StepState, detail: impl Into<String>) {
        self.steps.push(Step::new(step, state).detail(detail));
    }

    /// Adds a step that is `planned` in a dry run and `done` otherwise.
    pub fn step(&mut self, step: impl Into<String>, detail: impl Into<String>) {
        let state = self.will();
        self.push(step, state, detail);
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    pub fn total_eta_sec(&self) -> u64 {
        self.phases.iter().map(|p| p.eta_sec).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::output::Report;

    #[test]
    fn optional_keys_stay_out_of_json() {
        let mut plan = Plan::new("restart deployment/x in ns", true);
        plan.step("deployment/x", "");
        plan.phases
            .push(Phase::new(1, "drain-active", 30).context("ctx"));
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "action": "restart deployment/x in ns",
                "dryRun": true,
                "phases": [{"phaseNum": 1, "phase": "drain-active", "etaSec": 30, "context": "ctx"}],
                "steps": [{"step": "deployment/x", "state": "planned"}],
            })
        );
        assert_eq!(plan.total_eta_sec(), 30);
    }

    #[test]
    fn every_mode_renders_from_the_one_type() {
        let mut plan = Plan::new("do it", false);
        plan.steps.push(
            Step::new("a", StepState::Changed)
                .phase(1, "p")
                .command("kubectl x"),
        );
        plan.kept.push("Secret/keep".into());
        plan.note("mind the gap");
        let table = plan.table(false);
        assert!(table.starts_with("do it\n"), "{table}");
        assert!(
            table.contains("PHASE") && !table.contains("COMMAND"),
            "{table}"
        );
        assert!(plan.table(true).contains("kubectl x"));
        assert!(table.contains("kept: Secret/keep") && table.contains("note: mind the gap"));
        assert_eq!(plan.names(), vec!["a".to_owned()]);
    }
}
