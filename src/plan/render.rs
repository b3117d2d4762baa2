//! Plans as text, in the Terraform convention.

use super::{Action, Plan, Summary};
use crate::ui::{Tone, Ui};

fn tone(action: Action) -> Tone {
    match action {
        Action::Create => Tone::Good,
        Action::Update => Tone::Warn,
        Action::Delete => Tone::Bad,
    }
}

fn will_be(action: Action) -> &'static str {
    match action {
        Action::Create => "will be created",
        Action::Update => "will be updated in place",
        Action::Delete => "will be destroyed",
    }
}

/// The lines of a plan, painted for stdout.
pub fn plan_text(plan: &Plan, ui: &Ui) -> Vec<String> {
    let mut lines = plan_changes(plan, ui);
    let conflicts: Vec<_> = plan
        .steps
        .iter()
        .flat_map(|s| s.conflicts.iter().map(move |c| (s.step, c)))
        .collect();
    if !conflicts.is_empty() {
        lines.push(String::new());
        lines.push(ui.paint(Tone::Warn, "Left alone (conflicts):"));
        for (step, c) in conflicts {
            lines.push(format!(
                "  {} {step}: {}: {}",
                ui.paint(Tone::Warn, "!"),
                c.resource,
                c.reason
            ));
        }
    }
    lines
}

fn plan_changes(plan: &Plan, ui: &Ui) -> Vec<String> {
    if !plan.has_changes() {
        return vec![format!(
            "{} Live state matches {}.",
            ui.paint(Tone::Good, "No changes."),
            plan.config.display()
        )];
    }
    let mut lines = vec![
        "webtier will perform the following actions:".to_string(),
        String::new(),
    ];
    for step in &plan.steps {
        for change in &step.changes {
            lines.push(ui.paint(
                Tone::Bold,
                &format!(
                    "  # {}: {} {}",
                    step.step,
                    change.resource,
                    will_be(change.action)
                ),
            ));
            lines.push(format!(
                "  {} {}",
                ui.paint(tone(change.action), &change.action.symbol().to_string()),
                change.resource
            ));
            for detail in change.detail.lines() {
                let t = if detail.starts_with("+++") || detail.starts_with("---") {
                    Tone::Bold
                } else if detail.starts_with('+') {
                    Tone::Good
                } else if detail.starts_with('-') {
                    Tone::Bad
                } else if detail.starts_with("@@") {
                    Tone::Dim
                } else {
                    Tone::Plain
                };
                lines.push(format!("      {}", ui.paint(t, detail)));
            }
            lines.push(String::new());
        }
    }
    lines.push(summary_line(&plan.summary, ui));
    lines
}

pub fn summary_line(s: &Summary, ui: &Ui) -> String {
    format!(
        "{} {} to add, {} to change, {} to destroy.",
        ui.paint(Tone::Bold, "Plan:"),
        s.add,
        s.change,
        s.destroy
    )
}

/// A unified diff from the file `shown` as it is to as planned.
pub fn unified_diff(shown: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{shown} (on disk)"), &format!("{shown} (planned)"))
        .to_string()
}

/// Pure: the action, resource name and unified diff that make the file
/// at `path` hold `desired`; None when it already does.
pub fn file_change(
    path: &std::path::Path,
    desired: &str,
    current: Option<&[u8]>,
) -> Option<(super::Action, String, String)> {
    if current == Some(desired.as_bytes()) {
        return None;
    }
    let old = current.map(String::from_utf8_lossy).unwrap_or_default();
    let shown = path.display().to_string();
    let detail = unified_diff(&shown, old.as_ref(), desired);
    let action = if current.is_some() {
        super::Action::Update
    } else {
        super::Action::Create
    };
    Some((action, format!("file {shown}"), detail))
}
