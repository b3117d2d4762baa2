//! `webtier status`: every site's checks (see `crate::status`), one line
//! each with ✓ or ✗, or the JSON report; exit 0 when every check passes,
//! 1 otherwise, so it serves as a monitoring check.

use anyhow::Result;

use crate::cli::GlobalArgs;
use crate::exit;
use crate::status::{self, Report};
use crate::ui::{Tone, Ui};

pub fn run(global: &GlobalArgs, ui: &Ui) -> Result<u8> {
    let config = crate::config::load(&global.config_path())?;
    let progress = ui.progress("status: checking");
    let report = super::runtime()?.block_on(status::collect(&config));
    progress.finish();
    if ui.is_json() {
        ui.json(&report)?;
    } else {
        for line in text(&report, ui) {
            ui.out(&line)?;
        }
    }
    Ok(if report.ok {
        exit::SUCCESS
    } else {
        exit::ERROR
    })
}

/// The text report: per site its domain, then one line per check, then a
/// summary line.
fn text(report: &Report, ui: &Ui) -> Vec<String> {
    let width = report
        .checks()
        .map(|(_, c)| c.check.len())
        .max()
        .unwrap_or(0);
    let mut lines = Vec::new();
    for site in &report.sites {
        lines.push(ui.paint(Tone::Bold, &site.domain));
        for check in &site.checks {
            let mark = if check.ok {
                ui.paint(Tone::Good, "✓")
            } else {
                ui.paint(Tone::Bad, "✗")
            };
            lines.push(format!(
                "  {mark} {:<width$}  {}",
                check.check, check.detail
            ));
        }
    }
    lines.push(summary(report));
    lines
}

/// `all 16 checks pass` / `3 of 16 checks fail: tls, upstream
/// (a.example); proxy (b.example)`.
fn summary(report: &Report) -> String {
    let total = report.checks().count();
    let failed = report.checks().filter(|(_, c)| !c.ok).count();
    if failed == 0 {
        return if total == 1 {
            "the 1 check passes".to_string()
        } else {
            format!("all {total} checks pass")
        };
    }
    let by_site: Vec<String> = report
        .sites
        .iter()
        .filter(|s| !s.ok)
        .map(|s| {
            let names: Vec<&str> = s.checks.iter().filter(|c| !c.ok).map(|c| c.check).collect();
            format!("{} ({})", names.join(", "), s.domain)
        })
        .collect();
    let checks = if total == 1 { "check" } else { "checks" };
    format!("{failed} of {total} {checks} fail: {}", by_site.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Check;

    #[test]
    fn one_line_per_check_and_a_summary_without_color() {
        let ui = Ui::new(crate::ui::Options {
            json: false,
            quiet: false,
            no_color: true,
        });
        let report = Report::new(vec![(
            "a.example".into(),
            vec![
                Check::pass("firewall", "tcp/80 and tcp/443 open to 0.0.0.0/0 in sg-1"),
                Check::fail("upstream", "http://127.0.0.1:8000 refuses connections"),
            ],
        )]);
        assert_eq!(
            text(&report, &ui),
            [
                "a.example",
                "  ✓ firewall  tcp/80 and tcp/443 open to 0.0.0.0/0 in sg-1",
                "  ✗ upstream  http://127.0.0.1:8000 refuses connections",
                "1 of 2 checks fail: upstream (a.example)",
            ]
        );
        let two = Report::new(vec![
            (
                "a.example".into(),
                vec![Check::fail("tls", "x"), Check::fail("upstream", "y")],
            ),
            ("b.example".into(), vec![Check::fail("proxy", "z")]),
        ]);
        assert_eq!(
            summary(&two),
            "3 of 3 checks fail: tls, upstream (a.example); proxy (b.example)"
        );
        let good = Report::new(vec![("a.example".into(), vec![Check::pass("proxy", "x")])]);
        assert_eq!(summary(&good), "the 1 check passes");
    }
}
