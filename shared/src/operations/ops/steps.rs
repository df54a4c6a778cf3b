//! The report of every mutating `ops` and `keys` command: the plan, step by step, then
//! what each step did. With `--plan-only` the same list prints with every step `planned`
//! and nothing is written.

use crate::base::output::{Report, column_table};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepState {
    Planned,
    Done,
    Verified,
    Skipped,
}

impl StepState {
    fn as_str(self) -> &'static str {
        match self {
            StepState::Planned => "planned",
            StepState::Done => "done",
            StepState::Verified => "verified",
            StepState::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub step: String,
    pub state: StepState,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    /// What was asked: `restart deployment/nvcf-api in nvcf`.
    pub action: String,
    pub plan_only: bool,
    pub steps: Vec<Step>,
    /// What the operator should know next: propagation, follow-ups, caveats.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl StepReport {
    pub fn new(action: impl Into<String>, plan_only: bool) -> StepReport {
        StepReport {
            action: action.into(),
            plan_only,
            steps: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn push(&mut self, step: impl Into<String>, state: StepState, detail: impl Into<String>) {
        self.steps.push(Step {
            step: step.into(),
            state,
            detail: detail.into(),
        });
    }

    /// Adds a step that is `planned` in plan mode and `done` otherwise.
    pub fn step(&mut self, step: impl Into<String>, detail: impl Into<String>) {
        let state = if self.plan_only {
            StepState::Planned
        } else {
            StepState::Done
        };
        self.push(step, state, detail);
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }
}

impl Report for StepReport {
    fn table(&self, _wide: bool) -> String {
        let mut out = format!(
            "{}{}\n\n",
            if self.plan_only {
                "Plan (nothing written): "
            } else {
                ""
            },
            self.action
        );
        let rows = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                vec![
                    (i + 1).to_string(),
                    s.state.as_str().to_owned(),
                    s.step.clone(),
                    s.detail.clone(),
                ]
            })
            .collect();
        out.push_str(&column_table(&["#", "STATE", "STEP", "DETAIL"], rows));
        for n in &self.notes {
            out.push_str(&format!("\nnote: {n}"));
        }
        if !self.notes.is_empty() {
            out.push('\n');
        }
        out
    }

    fn names(&self) -> Vec<String> {
        self.steps.iter().map(|s| s.step.clone()).collect()
    }
}
