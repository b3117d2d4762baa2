//! Which module may name which, checked by reading the source: the
//! direction of dependencies is a test, not a comment.
//!
//! - A step (`src/steps/<step>`) never names another step: what two steps
//!   share lives in a module both use (the config model, `certstore`,
//!   `acme`, `aws`).
//! - The shared modules under the steps (`acme`, `certstore`, `aws`,
//!   `config`, `plan`, `ui`) name no step, no command and not the command
//!   line.
//! - Only `cli` (and `main`, `commands` for completions and the man page)
//!   know clap.
//!
//! - The proxy (`src/proxy/`) names no module of webtier outside itself
//!   but leaf helpers that name nothing of webtier (`fsutil`): the rest of
//!   webtier reaches the proxy through its file and signals only.

use std::fs;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The `.rs` files at `path` (a file, or a directory searched deeply).
fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut out = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(path)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", path.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            out.extend(rust_files(&entry));
        } else if entry.extension().is_some_and(|x| x == "rs") {
            out.push(entry);
        }
    }
    out
}

/// A file's text without `//` comments (doc comments may name anything).
fn code(path: &Path) -> String {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    strip_comments(&text)
}

fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules a path named after `prefix` reaches: `crate::steps::dns`
/// gives `dns`, `crate::steps::{dns, cert::Wanted}` gives `dns` and `cert`.
fn named_after(code: &str, prefix: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut names = Vec::new();
    for (i, _) in code.match_indices(prefix) {
        let rest = &code[i + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            names.extend(group.split(',').map(ident));
        } else {
            names.push(ident(rest));
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

/// The step modules: each file or directory in src/steps/ but mod.rs.
fn steps() -> Vec<(String, PathBuf)> {
    let mut steps: Vec<(String, PathBuf)> = fs::read_dir(src().join("steps"))
        .expect("src/steps")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.file_name().is_some_and(|n| n != "mod.rs"))
        .map(|p| {
            let name = p.file_stem().unwrap_or_default().to_string_lossy().into();
            (name, p)
        })
        .collect();
    steps.sort();
    steps
}

#[test]
fn steps_do_not_reach_into_each_other() {
    let steps = steps();
    let names: Vec<&str> = steps.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"dns") && names.contains(&"cert"),
        "{names:?}"
    );
    let mut found = Vec::new();
    for (step, path) in &steps {
        for file in rust_files(path) {
            let code = code(&file);
            // From src/steps/x.rs `super::` is src/steps/; from
            // src/steps/x/y.rs it is `super::super::`.
            let mut named = named_after(&code, "crate::steps::");
            named.extend(named_after(&code, "super::super::"));
            if path.is_file() {
                named.extend(named_after(&code, "super::"));
            }
            for other in named {
                if other != *step && names.contains(&other.as_str()) {
                    found.push(format!(
                        "{} (the {step} step) names the {other} step",
                        file.strip_prefix(src()).unwrap_or(&file).display()
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "steps do not reach into each other: {}. Move what both steps need into a module \
         both use — the config model (like Config::proxy_pid_file), crate::certstore, \
         crate::acme or crate::aws — and use it from each step",
        found.join("; ")
    );
}

#[test]
fn shared_modules_name_no_step_command_or_command_line() {
    let shared = ["acme", "certstore.rs", "aws", "config", "plan", "ui.rs"];
    let mut found = Vec::new();
    for module in shared {
        for file in rust_files(&src().join(module)) {
            let code = code(&file);
            for above in ["crate::steps", "crate::commands", "crate::cli", "clap"] {
                if code.contains(above) {
                    found.push(format!(
                        "{} names {above}",
                        file.strip_prefix(src()).unwrap_or(&file).display()
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "{}: the shared modules sit under the steps and the commands and know nothing of \
         them or of clap. Pass what they need in as plain values (as ui::Options carries \
         the output flags, and acme::account takes the account file), or move the code \
         up into the step or command that uses it",
        found.join("; ")
    );
}

#[test]
fn the_proxy_names_nothing_of_webtier_but_leaves() {
    const LEAVES: &[&str] = &["fsutil"];
    let files = rust_files(&src().join("proxy"));
    assert!(files.len() > 20, "found only {} proxy sources", files.len());
    let mut found = Vec::new();
    for file in &files {
        for name in named_after(&code(file), "crate::") {
            if name != "proxy" && !LEAVES.contains(&name.as_str()) {
                let file = file.strip_prefix(src()).unwrap_or(file);
                found.push(format!("{} names crate::{name}", file.display()));
            }
        }
    }
    for leaf in LEAVES {
        let uses = named_after(&code(&src().join(format!("{leaf}.rs"))), "crate::");
        if !uses.is_empty() {
            found.push(format!("{leaf}.rs is no leaf: it names crate::{uses:?}"));
        }
    }
    assert!(
        found.is_empty(),
        "{}: the proxy depends on nothing of webtier but its own types. Give it what it \
         needs through its configuration, or move a leaf helper it needs into src/proxy",
        found.join("; ")
    );
}

#[test]
fn paths_are_read_through_groups_and_past_comments() {
    assert_eq!(
        named_after("use crate::steps::{dns, cert::Wanted};", "crate::steps::"),
        ["dns", "cert"]
    );
    assert_eq!(
        named_after("let p = crate::steps::proxy_config::x();", "crate::steps::"),
        ["proxy_config"]
    );
    let commented = strip_comments("let p = 1; // crate::steps::dns\n/// crate::steps::cert");
    assert!(named_after(&commented, "crate::steps::").is_empty());
}
