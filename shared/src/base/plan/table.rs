//! The one rendering of a plan for people: phases, steps, what stays and the notes.

use super::{Phase, Plan, Step, StepState};
use crate::base::output::{Report, column_table};

/// The phases as a table: number, name, ETA and (where any phase names one) context.
pub fn phases_table(phases: &[Phase]) -> String {
    let contexts = phases.iter().any(|p| p.context.is_some());
    let mut header = vec!["#", "phase", "eta"];
    if contexts {
        header.push("context");
    }
    let rows = phases
        .iter()
        .map(|p| {
            let mut row = vec![
                p.phase_num.to_string(),
                p.title().to_owned(),
                format!("{}s", p.eta_sec),
            ];
            if contexts {
                row.push(p.context.clone().unwrap_or_default());
            }
            row
        })
        .collect();
    column_table(&header, rows)
}

/// The steps as a table: number, phase (where any step has one), state, step and detail;
/// the command too when `wide`, or when nothing has run yet (a plan's commands are its point;
/// a step skipped on purpose, with no command, does not make it a run).
pub fn steps_table(steps: &[Step], wide: bool) -> String {
    let phased = steps.iter().any(|s| s.phase.is_some());
    let planned = steps
        .iter()
        .all(|s| matches!(s.state, StepState::Planned | StepState::Skipped));
    let commands = (wide || planned) && steps.iter().any(|s| !s.command.is_empty());
    let mut header = vec!["#"];
    if phased {
        header.push("phase");
    }
    header.extend(["state", "step", "detail"]);
    if commands {
        header.push("command");
    }
    let rows = steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut row = vec![(i + 1).to_string()];
            if phased {
                row.push(s.phase.clone().unwrap_or_default());
            }
            row.extend([
                s.state.as_str().to_owned(),
                s.step.clone(),
                s.detail.clone(),
            ]);
            if commands {
                row.push(s.command.clone());
            }
            row
        })
        .collect();
    column_table(&header, rows)
}

impl Report for Plan {
    fn table(&self, wide: bool) -> String {
        let mut out = String::new();
        if !self.action.is_empty() {
            let prefix = if self.dry_run {
                "Plan (nothing written): "
            } else {
                ""
            };
            out.push_str(&format!("{prefix}{}\n\n", self.action));
        }
        if !self.phases.is_empty() {
            out.push_str(&phases_table(&self.phases));
            out.push('\n');
        }
        out.push_str(&steps_table(&self.steps, wide));
        if !self.kept.is_empty() {
            out.push_str(&format!("\nkept: {}\n", self.kept.join(", ")));
        }
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
