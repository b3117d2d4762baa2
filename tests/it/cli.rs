//! The command line as a user meets it: help, configuration errors, the
//! plan/apply cycle on the proxy-config step, saved plans, prompts, JSON
//! output and exit codes.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support;
use crate::support::{assert_exit, repo, run, stderr, stdout, webtier};

const SITE: &str = r#"state_dir = "state"

[proxy]
config_file = "out/proxy.toml"
http_port = 8080
https_port = 8443
# These tests exercise plan and apply; the daemon is tests/it/service.rs's.
launch = "none"

[[site]]
domain = "example.com"
tls = "none"
upstreams = ["127.0.0.1:8000"]
"#;

/// A directory with a webtier.toml.
fn project(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("webtier.toml"), config).unwrap();
    dir
}

fn proxy_file(dir: &Path) -> PathBuf {
    dir.join("out/proxy.toml")
}

#[test]
fn version_and_help_for_every_command() {
    let out = run(repo(), &["--version"]);
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out),
        format!("webtier {}\n", env!("CARGO_PKG_VERSION"))
    );
    for args in [
        &[][..],
        &["plan"],
        &["apply"],
        &["config"],
        &["config", "check"],
        &["config", "show"],
        &["completions"],
        &["man"],
    ] {
        let mut full = args.to_vec();
        full.push("--help");
        let out = run(repo(), &full);
        assert_exit(&out, 0);
        assert!(
            stdout(&out).contains("Usage: webtier"),
            "{full:?}: {}",
            stdout(&out)
        );
    }
}

#[test]
fn usage_errors_exit_1_never_2() {
    // 2 means "changes present" with --detailed-exitcode.
    let out = run(repo(), &["plan", "--detailed-exitcode", "no-such-step"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("invalid value 'no-such-step'"));
}

#[test]
fn example_config_is_valid() {
    let out = run(
        repo(),
        &["config", "check", "--config", "examples/webtier.toml"],
    );
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out),
        "examples/webtier.toml: configuration is valid (1 site, 2 names)\n"
    );
}

/// The README's Quick start, as written: copy the example beside nothing
/// else and check it.
#[test]
fn readme_quick_start_copy_of_the_example_checks_clean() {
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(
        readme.contains("cp examples/webtier.toml webtier.toml"),
        "the Quick start step this test follows"
    );
    let dir = tempfile::tempdir().unwrap();
    fs::copy(
        repo().join("examples/webtier.toml"),
        dir.path().join("webtier.toml"),
    )
    .unwrap();
    let out = run(dir.path(), &["config", "check"]);
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out),
        "webtier.toml: configuration is valid (1 site, 2 names)\n"
    );
}

#[test]
fn broken_configs_give_the_expected_errors() {
    let dir = repo().join("tests/configs/broken");
    let cases = crate::support::corpus(&dir, 15);
    for case in cases {
        let name = case.file_name().unwrap().to_str().unwrap();
        let expected = fs::read_to_string(case.with_extension("stderr"))
            .unwrap_or_else(|_| panic!("{name} has no .stderr file with its expected error"));
        let out = run(&dir, &["config", "check", "--config", name]);
        assert_eq!(out.status.code(), Some(3), "{name}: {}", stderr(&out));
        assert_eq!(stderr(&out), expected, "{name}");
        assert_eq!(stdout(&out), "", "{name}");
        // Every other command refuses the same file the same way.
        let out = run(&dir, &["plan", "--config", name]);
        assert_eq!(out.status.code(), Some(3), "plan {name}");
        assert_eq!(stderr(&out), expected, "plan {name}");
    }
}

#[test]
fn a_secret_written_into_webtier_toml_is_never_shown() {
    let secret = "hunter2-SECRET";
    let auth = "issuer = \"https://accounts.example\"\nclient_id = \"webtier\"\nclient_secret_file = \"webtier.toml\"\nallowed_emails = [\"*@example.com\"]";
    // The file, the key a message names, and how its line is shown.
    let cases = [
        // An unknown key, on a line of its own.
        (
            format!("{SITE}\n[site.auth]\n{auth}\nclient_secret = \"{secret}\"\n"),
            "client_secret",
            "client_secret = \"****\"",
        ),
        // Misspelt, on the line of other keys (an inline table).
        (
            format!(
                "{SITE}auth = {{ issuer = \"https://accounts.example\", client_id = \"webtier\", clientsecret = \"{secret}\" }}\n"
            ),
            "clientsecret",
            "clientsecret = \"****\"",
        ),
        // Inside a value of the wrong type.
        (
            format!(
                "{SITE}\n[site.auth]\n{auth}\nclient_secret_file = {{ password = \"{secret}\" }}\n"
            )
            .replace("client_secret_file = \"webtier.toml\"\n", ""),
            "client_secret_file",
            "client_secret_file = { password = \"****\" }",
        ),
        // A string left open: a TOML syntax error.
        (
            format!("{SITE}\n[site.auth]\n{auth}\nclient_secret = \"{secret}\n"),
            "invalid TOML",
            "client_secret = \"****\"",
        ),
    ];
    for (i, (text, key, line)) in cases.iter().enumerate() {
        let dir = project(text);
        for json in [false, true] {
            let mut args = vec!["config", "check"];
            if json {
                args.push("--json");
            }
            let out = run(dir.path(), &args);
            assert_exit(&out, 3);
            let shown = format!("{}{}", stdout(&out), stderr(&out));
            assert!(
                !shown.contains("hunter2"),
                "case {i}: the secret is shown:\n{shown}"
            );
            assert!(shown.contains(key), "case {i}: {key} is named:\n{shown}");
            if !json {
                assert!(
                    shown.contains(line),
                    "case {i}: the line shows the key with its value masked:\n{shown}"
                );
            }
        }
    }
}

#[test]
fn config_check_json_lists_every_problem() {
    let dir = repo().join("tests/configs/broken");
    let out = run(
        &dir,
        &[
            "config",
            "check",
            "--json",
            "--config",
            "19-many-problems.toml",
        ],
    );
    assert_exit(&out, 3);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["valid"], false);
    let problems = doc["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 6);
    assert_eq!(problems[0]["line"], 3);
    assert_eq!(problems[0]["column"], 10);
    assert!(
        problems[0]["message"]
            .as_str()
            .unwrap()
            .contains("us-east-1")
    );
}

#[test]
fn missing_config_file_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["plan"]);
    assert_exit(&out, 3);
    assert!(
        stderr(&out).starts_with("error: webtier.toml: cannot read the configuration"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--config"));
    // WEBTIER_CONFIG is honoured.
    let p = project(SITE);
    let out = webtier()
        .current_dir(dir.path())
        .env("WEBTIER_CONFIG", p.path().join("webtier.toml"))
        .args(["config", "check"])
        .output()
        .unwrap();
    assert_exit(&out, 0);
}

#[test]
fn config_show_fills_in_defaults() {
    let p = project(SITE);
    let out = run(p.path(), &["config", "show", "--json"]);
    assert_exit(&out, 0);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let config = &doc["config"];
    assert_eq!(
        config["acme"]["directory"],
        "https://acme-v02.api.letsencrypt.org/directory"
    );
    assert_eq!(config["acme"]["challenge"], "http-01");
    assert_eq!(config["proxy"]["http_port"], 8080);
    let state = p
        .path()
        .join("state")
        .canonicalize()
        .unwrap_or(p.path().join("state"));
    assert_eq!(
        config["proxy"]["challenge_dir"],
        state.join("acme-challenge").display().to_string()
    );
    assert_eq!(config["site"][0]["upstreams"][0], "http://127.0.0.1:8000");

    let out = run(p.path(), &["config", "show"]);
    assert_exit(&out, 0);
    let text: toml::Table = toml::from_str(&stdout(&out)).expect("config show prints TOML");
    assert_eq!(text["site"][0]["tls"].as_str(), Some("none"));
}

#[test]
fn plan_apply_plan_converges() {
    let p = project(SITE);
    let dir = p.path();

    let out = run(dir, &["plan", "proxy-config"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("# proxy-config: file "), "{text}");
    assert!(text.contains("will be created"), "{text}");
    assert!(text.contains("+++ "), "a unified diff is shown: {text}");
    assert!(
        text.contains("Plan: 1 to add, 0 to change, 0 to destroy."),
        "{text}"
    );
    assert!(!proxy_file(dir).exists(), "plan changes nothing");

    assert_exit(&run(dir, &["plan", "--detailed-exitcode"]), 2);

    let out = run(dir, &["apply", "proxy-config", "--yes"]);
    assert_exit(&out, 0);
    assert_eq!(
        stderr(&out),
        "proxy-config: applying 1 change\n",
        "without a terminal, what is being changed is a plain log line"
    );
    assert!(
        stdout(&out).contains("Apply complete! Resources: 1 added, 0 changed, 0 destroyed."),
        "{}",
        stdout(&out)
    );
    let written = fs::read_to_string(proxy_file(dir)).unwrap();
    assert!(written.starts_with("# Generated by webtier from "));
    assert!(written.contains("names = [\"example.com\"]"), "{written}");
    assert!(written.contains("\"0.0.0.0:8080\""), "{written}");

    let out = run(dir, &["plan", "--detailed-exitcode"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).starts_with("No changes."), "{}", stdout(&out));
    // Applying nothing changes nothing.
    let before = fs::metadata(proxy_file(dir)).unwrap().modified().unwrap();
    let out = run(dir, &["apply"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).starts_with("No changes."));
    assert_eq!(
        fs::metadata(proxy_file(dir)).unwrap().modified().unwrap(),
        before
    );

    // A config change is an in-place update; the file keeps its mode.
    fs::set_permissions(proxy_file(dir), fs::Permissions::from_mode(0o640)).unwrap();
    let edited = SITE.replace(
        "domain = \"example.com\"",
        "domain = \"example.com\"\naliases = [\"www.example.com\"]",
    );
    fs::write(dir.join("webtier.toml"), edited).unwrap();
    let out = run(dir, &["plan"]);
    let text = stdout(&out);
    assert!(text.contains("will be updated in place"), "{text}");
    assert!(text.contains("~ file "), "{text}");
    assert!(text.contains("-names = [\"example.com\"]"), "{text}");
    assert!(text.contains("+names = ["), "{text}");
    assert!(
        text.contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{text}"
    );
    assert_exit(&run(dir, &["apply", "--yes"]), 0);
    let written = fs::read_to_string(proxy_file(dir)).unwrap();
    assert!(written.contains("www.example.com"));
    let mode = fs::metadata(proxy_file(dir)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "permissions are kept");
    assert_exit(&run(dir, &["plan", "--detailed-exitcode"]), 0);
}

/// A typo in `--out`'s directory is refused, not created (webtier often
/// runs as root: it would make directories anywhere, even under /).
#[test]
fn plan_out_into_a_missing_directory_is_refused_and_creates_nothing() {
    let p = project(SITE);
    let dir = p.path();
    let out = run(dir, &["plan", "--out", "plans/today/saved.plan"]);
    assert_exit(&out, 1);
    assert_eq!(
        stderr(&out),
        "error: cannot save the plan to plans/today/saved.plan: directory plans/today does not exist — create it first\n"
    );
    assert!(!dir.join("plans").exists(), "no directory was created");
    assert_eq!(stdout(&out), "", "no plan shown for a plan not saved");
}

#[test]
fn saved_plan_is_applied_exactly_or_refused_when_stale() {
    let p = project(SITE);
    let dir = p.path();

    let out = run(dir, &["plan", "--out", "saved.plan"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("webtier apply saved.plan"),
        "{}",
        stdout(&out)
    );
    let mode = fs::metadata(dir.join("saved.plan"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);

    // Someone writes the file between plan and apply: the plan is stale.
    fs::create_dir_all(dir.join("out")).unwrap();
    fs::write(proxy_file(dir), "# edited by hand\n").unwrap();
    let out = run(dir, &["apply", "saved.plan"]);
    assert_exit(&out, 4);
    assert!(
        stderr(&out).contains("saved plan is stale"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("proxy-config"));
    assert_eq!(
        fs::read_to_string(proxy_file(dir)).unwrap(),
        "# edited by hand\n"
    );

    // A fresh plan applies without a prompt, even without a terminal.
    assert_exit(&run(dir, &["plan", "--out", "saved.plan"]), 0);
    let out = run(dir, &["apply", "saved.plan"]);
    assert_exit(&out, 0);
    assert!(
        fs::read_to_string(proxy_file(dir))
            .unwrap()
            .starts_with("# Generated by webtier")
    );
    // Once applied, the same plan is stale.
    assert_exit(&run(dir, &["apply", "saved.plan"]), 4);
}

#[test]
fn saved_plan_applies_what_was_planned_not_later_config_edits() {
    let p = project(SITE);
    let dir = p.path();
    assert_exit(&run(dir, &["plan", "--out", "saved.plan"]), 0);
    fs::write(dir.join("webtier.toml"), SITE.replace("8080", "8081")).unwrap();
    assert_exit(&run(dir, &["apply", "saved.plan"]), 0);
    let written = fs::read_to_string(proxy_file(dir)).unwrap();
    assert!(written.contains(":8080\""), "{written}");
    assert_exit(&run(dir, &["plan", "--detailed-exitcode"]), 2);
}

/// `-q` promises results and errors only: with nothing to review (`--yes`,
/// or a saved plan) apply prints what it did in one line, not the diff.
#[test]
fn quiet_apply_prints_its_result_not_the_plan() {
    let p = project(SITE);
    let dir = p.path();
    assert_exit(&run(dir, &["plan", "--out", "saved.plan"]), 0);
    let out = run(dir, &["apply", "--yes", "-q"]);
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out),
        "Apply complete! Resources: 1 added, 0 changed, 0 destroyed.\n"
    );
    assert_eq!(stderr(&out), "");
    assert!(proxy_file(dir).exists());
    // Nothing left to do: nothing to say.
    let out = run(dir, &["apply", "--yes", "-q"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "");
    assert_eq!(stderr(&out), "");
    // A saved plan is applied without review too.
    fs::remove_file(proxy_file(dir)).unwrap();
    let out = run(dir, &["apply", "-q", "saved.plan"]);
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out),
        "Apply complete! Resources: 1 added, 0 changed, 0 destroyed.\n"
    );
    assert_eq!(stderr(&out), "");
}

#[test]
fn apply_without_terminal_or_yes_refuses_at_once() {
    let p = project(SITE);
    let mut child = webtier()
        .current_dir(p.path())
        .arg("apply")
        .stdin(Stdio::piped()) // open, never written: a prompt would hang
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "apply waited for input");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("stdin is not a terminal"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--yes"));
    assert!(!proxy_file(p.path()).exists(), "nothing was written");
}

/// Runs webtier under a pseudo-terminal (util-linux `script`), typing `input`.
fn on_terminal(dir: &Path, args: &str, input: &str, no_color: bool) -> (Option<i32>, String) {
    let script = support::require_bin("script", "apt-get install -y bsdutils");
    let cmd = format!("{} {args}", env!("CARGO_BIN_EXE_webtier"));
    let mut command = std::process::Command::new(script);
    command
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if no_color {
        command.env("NO_COLOR", "1");
    }
    let mut child = command.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Whether `text` holds a color/style escape (SGR: ESC [ ... m).
fn has_sgr(text: &str) -> bool {
    text.split('\u{1b}').skip(1).any(|seq| {
        seq.strip_prefix('[').is_some_and(|rest| {
            let end = rest.find(|c: char| !(c.is_ascii_digit() || c == ';'));
            end.is_some_and(|i| rest[i..].starts_with('m'))
        })
    })
}

#[test]
fn apply_on_a_terminal_asks_and_only_yes_approves() {
    let p = project(SITE);
    let (code, screen) = on_terminal(p.path(), "apply", "no\n", false);
    assert_eq!(code, Some(1), "{screen}");
    assert!(
        screen.contains("Do you want to perform these actions?"),
        "{screen}"
    );
    assert!(screen.contains("apply cancelled"), "{screen}");
    assert!(!proxy_file(p.path()).exists());
    assert!(has_sgr(&screen), "colors on a terminal: {screen}");

    let (code, screen) = on_terminal(p.path(), "apply", "yes\n", true);
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("Apply complete!"), "{screen}");
    assert!(!has_sgr(&screen), "NO_COLOR turns colors off: {screen}");
    assert!(proxy_file(p.path()).exists());
}

#[test]
fn json_output_is_one_document_per_command() {
    let p = project(SITE);
    let dir = p.path();
    let out = run(dir, &["plan", "--json"]);
    assert_exit(&out, 0);
    let plan: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(plan["format_version"], 1);
    assert_eq!(
        plan["summary"],
        serde_json::json!({"add": 1, "change": 0, "destroy": 0})
    );
    let change = &plan["steps"][0]["changes"][0];
    assert_eq!(plan["steps"][0]["step"], "proxy-config");
    assert!(
        plan["steps"][0]["fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(change["action"], "create");
    assert!(change["detail"].as_str().unwrap().contains("+++"));

    let out = run(dir, &["--output", "json", "apply", "--yes"]);
    assert_exit(&out, 0);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["applied"][0]["action"], "create");
    assert_eq!(report["summary"]["add"], 1);

    // Errors are one JSON document too.
    fs::write(dir.join("webtier.toml"), "[[site]]\ndomian = \"x\"\n").unwrap();
    let out = run(dir, &["plan", "--json"]);
    assert_exit(&out, 3);
    let error: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(error["error"]["exit_code"], 3);
    assert_eq!(error["error"]["problems"][0]["line"], 2);
}

/// Runs webtier with a stdout whose reader is already gone.
fn with_closed_stdout(dir: &Path, args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    webtier()
        .current_dir(dir)
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn closed_stdout_neither_fails_nor_cuts_work_short() {
    let out = with_closed_stdout(repo(), &["man"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");

    // `webtier plan | head`: the exit code still tells the truth…
    let p = project(SITE);
    let out = with_closed_stdout(p.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // …and `apply | head` still applies.
    let out = with_closed_stdout(p.path(), &["apply", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(proxy_file(p.path()).exists());
}

#[test]
fn the_config_path_spelling_does_not_change_the_plan() {
    let p = project(SITE);
    assert_exit(&run(p.path(), &["apply", "--yes"]), 0);
    let elsewhere = p.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    let out = run(
        &elsewhere,
        &["plan", "--detailed-exitcode", "--config", "../webtier.toml"],
    );
    assert_exit(&out, 0);
    let link = p.path().join("link");
    std::os::unix::fs::symlink(p.path(), &link).unwrap();
    let out = run(
        &elsewhere,
        &[
            "plan",
            "--detailed-exitcode",
            "--config",
            "../link/webtier.toml",
        ],
    );
    assert_exit(&out, 0);
}

#[test]
fn saved_plans_stay_private_and_belong_to_their_config() {
    let p = project(SITE);
    let dir = p.path();
    fs::write(dir.join("saved.plan"), "old").unwrap();
    fs::set_permissions(dir.join("saved.plan"), fs::Permissions::from_mode(0o644)).unwrap();
    assert_exit(&run(dir, &["plan", "--out", "saved.plan"]), 0);
    let mode = fs::metadata(dir.join("saved.plan"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);

    let other = project(SITE);
    let other_config = other.path().join("webtier.toml");
    let out = run(
        dir,
        &[
            "apply",
            "saved.plan",
            "--config",
            other_config.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("was made from"), "{}", stderr(&out));
    assert!(!proxy_file(dir).exists());
    assert!(!proxy_file(other.path()).exists());
}

#[test]
fn json_apply_without_yes_refuses_and_usage_errors_are_json_too() {
    let p = project(SITE);
    let out = run(p.path(), &["apply", "--json"]);
    assert_exit(&out, 1);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(doc["error"]["message"].as_str().unwrap().contains("--yes"));
    assert!(!proxy_file(p.path()).exists());

    let out = run(p.path(), &["--json", "plan", "no-such-step"]);
    assert_exit(&out, 1);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["error"]["exit_code"], 1);
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no-such-step")
    );
}

#[test]
fn man_page_is_generated_from_the_cli() {
    let out = run(repo(), &["man"]);
    assert_exit(&out, 0);
    let page = stdout(&out);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq"),
        "{}",
        &page[..80.min(page.len())]
    );
    assert!(page.contains(".TH webtier 1"));
    assert!(page.contains("plan"));
    assert!(page.contains("\\-\\-detailed\\-exitcode") || page.contains("apply"));
}

/// Every page a man page refers to (`webtier-proxy-run(1)`) is one that
/// `man --dir` writes, and the page on stdout is its `webtier.1`.
#[test]
fn man_dir_writes_every_page_the_pages_refer_to() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = run(d, &["man", "--dir", "."]);
    assert_exit(&out, 0);
    let mut pages: Vec<String> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    pages.sort();
    for page in [
        "webtier.1",
        "webtier-plan.1",
        "webtier-proxy-run.1",
        "webtier-cert-renew.1",
    ] {
        assert!(pages.iter().any(|p| p == page), "{page} in {pages:?}");
    }
    let mut referred = 0;
    for page in &pages {
        let text = fs::read_to_string(d.join(page)).unwrap();
        for line in text.lines() {
            if let Some(name) = line.strip_suffix("(1)") {
                referred += 1;
                let file = format!("{}.1", name.replace("\\-", "-"));
                assert!(
                    pages.contains(&file),
                    "{page} refers to {line}, which was not written ({pages:?})"
                );
            }
        }
    }
    assert!(referred >= pages.len() - 1, "{referred} references");
    let stdout_page = stdout(&run(d, &["man"]));
    assert_eq!(
        stdout_page,
        fs::read_to_string(d.join("webtier.1")).unwrap()
    );
    // A directory that does not exist is refused, not created.
    let out = run(d, &["man", "--dir", "no/such"]);
    assert_exit(&out, 1);
    assert_eq!(
        stderr(&out),
        "error: cannot write the man pages: directory no/such does not exist — create it first\n"
    );
}

#[test]
fn completions_are_current() {
    let files = [
        ("bash", "webtier.bash"),
        ("zsh", "_webtier"),
        ("fish", "webtier.fish"),
        ("elvish", "webtier.elv"),
        ("powershell", "_webtier.ps1"),
    ];
    for (shell, file) in files {
        let out = run(repo(), &["completions", shell]);
        assert_exit(&out, 0);
        let committed =
            fs::read_to_string(repo().join("completions").join(file)).unwrap_or_default();
        assert!(
            committed == stdout(&out),
            "completions/{file} is stale: run scripts/update-completions.sh"
        );
        assert!(stdout(&out).contains("detailed-exitcode"), "{shell}");
    }
}

#[test]
fn cert_schedule_installs_a_stable_cron_entry() {
    let p = project(SITE);
    let root = tempfile::tempdir().unwrap();
    let root_arg = root.path().to_str().unwrap();
    let out = run(
        p.path(),
        &["cert", "schedule", "--with", "cron", "--root", root_arg],
    );
    assert_exit(&out, 0);
    let file = root.path().join("etc/cron.d/webtier");
    let first = fs::read_to_string(&file).unwrap();
    let entry = first.lines().last().unwrap();
    let config = p.path().join("webtier.toml").canonicalize().unwrap();
    assert!(
        entry.ends_with(&format!(
            "* * * root {} --config {} cert renew",
            env!("CARGO_BIN_EXE_webtier"),
            config.display()
        )),
        "{entry}"
    );
    assert_exit(
        &run(
            p.path(),
            &["cert", "schedule", "--with", "cron", "--root", root_arg],
        ),
        0,
    );
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        first,
        "scheduling again changes nothing"
    );

    let out = run(
        p.path(),
        &["cert", "schedule", "--with", "systemd", "--print"],
    );
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("# /etc/systemd/system/webtier-renew.timer"));
    assert!(stdout(&out).contains("ExecStart="));
}

#[test]
fn launch_systemd_without_systemd_is_refused_with_what_to_use() {
    assert!(
        !Path::new("/run/systemd/system").exists(),
        "this test expects a host without a running systemd (a container, as CI)"
    );
    let p = project(&SITE.replace("launch = \"none\"", "launch = \"systemd\""));
    let out = run(p.path(), &["plan", "proxy"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("launch = \"systemd\", but this host does not run systemd")
            && err.contains("use launch = \"detached\" or \"auto\""),
        "{err}"
    );
}

/// `[acme] schedule` decides what the schedule step installs, and "none"
/// leaves the step out.
#[test]
fn the_renewal_schedule_follows_acme_schedule() {
    let with = |schedule: &str| {
        project(&format!(
            "state_dir = \"state\"\n[acme]\nschedule = \"{schedule}\"\n\
             [proxy]\nconfig_file = \"out/proxy.toml\"\nlaunch = \"none\"\n\
             [[site]]\ndomain = \"example.com\"\nupstreams = [\"127.0.0.1:8000\"]\n"
        ))
    };
    let cron = with("cron");
    let out = run(cron.path(), &["plan", "schedule"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("+ file /etc/cron.d/webtier") && stdout(&out).contains(" cert renew"),
        "{}",
        stdout(&out)
    );

    let none = with("none");
    let out = run(none.path(), &["plan", "schedule"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("the schedule step needs [acme] schedule other than \"none\""),
        "{}",
        stderr(&out)
    );
    let out = run(none.path(), &["plan"]);
    assert_exit(&out, 0);
    assert!(!stdout(&out).contains("schedule:"), "{}", stdout(&out));

    // systemd is taken only where it runs (this suite's machines do not
    // run it as init; on one that does, its timer is planned instead).
    let systemd = with("systemd");
    let out = run(systemd.path(), &["plan", "schedule"]);
    if Path::new("/run/systemd/system").is_dir() {
        assert_exit(&out, 0);
        assert!(
            stdout(&out).contains("webtier-renew.timer"),
            "{}",
            stdout(&out)
        );
    } else {
        assert_exit(&out, 1);
        assert!(
            stderr(&out)
                .contains("[acme] schedule = \"systemd\", but this host does not run systemd"),
            "{}",
            stderr(&out)
        );
    }
}
