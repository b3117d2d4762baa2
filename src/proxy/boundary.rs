//! The proxy's boundary, checked: its sources name no module of webtier
//! outside `src/proxy` but leaf helpers.

use std::path::Path;

/// Modules of webtier the proxy may use: leaves that import nothing
/// from webtier themselves.
const LEAVES: &[&str] = &["fsutil"];

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `crate::NAME` paths in `text`, outside comments.
fn crate_paths(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let name: String = rest[i + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.push(name);
            rest = &rest[i + 7..];
        }
    }
    found
}

#[test]
fn the_proxy_imports_nothing_from_the_rest_of_webtier() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src.join("proxy"), &mut files);
    assert!(files.len() > 20, "found only {} proxy sources", files.len());
    let mut bad = Vec::new();
    for file in &files {
        if file.ends_with(file!().trim_start_matches("src/")) {
            continue; // this test's own strings
        }
        let text = std::fs::read_to_string(file).unwrap();
        for name in crate_paths(&text) {
            if name != "proxy" && !LEAVES.contains(&name.as_str()) {
                bad.push(format!("{}: crate::{name}", file.display()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "the proxy must not depend on the rest of webtier (give it what it needs \
         through its own config types, or move a leaf helper into src/proxy):\n{}",
        bad.join("\n")
    );
    for leaf in LEAVES {
        let text = std::fs::read_to_string(src.join(format!("{leaf}.rs"))).unwrap();
        let uses = crate_paths(&text);
        assert!(
            uses.is_empty(),
            "{leaf}.rs is no leaf: it uses crate::{uses:?}"
        );
    }
}

#[test]
fn a_path_into_webtier_is_seen_and_a_comment_is_not() {
    let text = "use crate::proxy::body::Body;\nuse crate::steps::x; // crate::aws\n";
    assert_eq!(crate_paths(text), ["proxy", "steps"]);
}
