//! `proxy-config`: the bundled proxy's configuration file, rendered from
//! `webtier.toml`. Desired: the rendered text. Observed: the file on disk.
//! Change: replace it atomically (permissions kept).
//!
//! With `[proxy] session_key_parameter` and a login site, also the SSM
//! parameter holding the session keys the proxies share: created when
//! missing, given a new key when older than `session_key_rotate_days`
//! (only when webtier's tag is on it), deleted by `webtier destroy` (the
//! same). Observed without its value; the keys are made at apply time and
//! never enter a plan.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};

use crate::aws::Clients;
use crate::aws::ssm::{self, Parameter};
use crate::config::Config;
use crate::fsutil::atomic_write;
use crate::plan::StepName;
use crate::plan::{Action, Conflict, Planned, Step};
use crate::proxy::config::ProxyConfig;

pub struct ProxyConfigStep {
    path: PathBuf,
    content: String,
    /// The session key parameter, when the proxies share one.
    parameter: Option<SessionKeyParameter>,
    /// `webtier destroy`: the file goes.
    destroy: bool,
}

/// The SSM parameter of the session keys, as the configuration wants it.
struct SessionKeyParameter {
    name: String,
    rotate_days: u32,
    /// `[dns] owner`, tagged on the parameter.
    owner: String,
    clients: Arc<Clients>,
    /// Unix seconds when the step was made: ages are counted from it.
    now: i64,
}

/// The file as found on disk, and the session key parameter.
#[derive(Debug, Serialize)]
pub struct FileState {
    pub path: PathBuf,
    /// None when the file does not exist.
    pub content: Option<Vec<u8>>,
    /// With `session_key_parameter`: the parameter, if it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<ObservedParameter>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservedParameter {
    pub name: String,
    /// None: it does not exist.
    pub found: Option<Parameter>,
}

/// One change: the file, or the session key parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Change {
    File(WriteFile),
    Parameter(ParameterChange),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteFile {
    pub path: PathBuf,
    /// None: remove the file (`webtier destroy`).
    pub content: Option<String>,
}

/// What is done to the session key parameter; the keys themselves are
/// made when it is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterChange {
    pub ssm_parameter: String,
    pub change: ParameterAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParameterAction {
    /// A new parameter with one new key.
    Create,
    /// A new key first, the two newest kept.
    Rotate,
    Delete,
}

/// Whether the step calls AWS: it keeps a session key parameter.
pub fn needs_aws(config: &Config) -> bool {
    config.proxy.session_key_parameter.is_some() && config.sites.iter().any(|s| s.auth.is_some())
}

impl ProxyConfigStep {
    /// `clients`: given when [`needs_aws`].
    pub fn new(config: &Config, clients: Option<Arc<Clients>>) -> Result<ProxyConfigStep> {
        let content = crate::config::proxy_file::render(config);
        // The daemon must be able to read what we write.
        ProxyConfig::from_toml(&content)
            .map_err(|e| anyhow!("the rendered proxy configuration does not parse back: {e}"))?;
        let parameter = match (needs_aws(config), clients) {
            (false, _) => None,
            (true, None) => bail!("the proxy-config step needs AWS clients for its SSM parameter"),
            (true, Some(clients)) => Some(SessionKeyParameter {
                name: config
                    .proxy
                    .session_key_parameter
                    .clone()
                    .unwrap_or_default(),
                rotate_days: config.proxy.session_key_rotate_days,
                owner: config.dns.owner.clone(),
                clients,
                now: std::time::SystemTime::now()
                    .duration_since(std::time::SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64),
            }),
        };
        Ok(ProxyConfigStep {
            path: config.proxy.config_file.clone(),
            content,
            parameter,
            destroy: false,
        })
    }

    /// The step that removes the file (`webtier destroy`).
    pub fn destroying(self) -> ProxyConfigStep {
        ProxyConfigStep {
            destroy: true,
            ..self
        }
    }
}

impl Step for ProxyConfigStep {
    type Observed = FileState;
    type Operation = Change;

    fn name(&self) -> StepName {
        StepName::ProxyConfig
    }

    async fn observe(&self) -> Result<FileState> {
        let content = match std::fs::read(&self.path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", self.path.display()));
            }
        };
        let parameter = match &self.parameter {
            Some(p) => Some(ObservedParameter {
                name: p.name.clone(),
                found: ssm::observe(&p.clients.ssm, &p.name).await?,
            }),
            None => None,
        };
        Ok(FileState {
            path: self.path.clone(),
            content,
            parameter,
        })
    }

    fn diff(&self, observed: &FileState) -> Vec<Planned<Change>> {
        let mut changes: Vec<Planned<Change>> = if self.destroy {
            removal(
                &self.path,
                observed.content.as_deref().is_some_and(generated),
            )
        } else {
            diff_file(&self.path, &self.content, observed.content.as_deref())
        }
        .into_iter()
        .map(|p| Planned {
            action: p.action,
            resource: p.resource,
            detail: p.detail,
            operation: Change::File(p.operation),
        })
        .collect();
        if let (Some(wanted), Some(observed)) = (&self.parameter, &observed.parameter) {
            changes.extend(diff_parameter(
                &wanted.name,
                wanted.rotate_days,
                observed.found.as_ref(),
                wanted.now,
                self.destroy,
            ));
        }
        changes
    }

    fn check_apply(&self) -> Result<()> {
        crate::fsutil::check_writable(&self.path)
    }

    fn conflicts(&self, observed: &FileState) -> Vec<Conflict> {
        let mut conflicts = match &observed.content {
            Some(content) if self.destroy && !generated(content) => vec![Conflict {
                resource: format!("file {}", self.path.display()),
                reason: "webtier did not write it (no \"# Generated by webtier\" first line) — left alone".into(),
            }],
            _ => Vec::new(),
        };
        if let Some(found) = (observed.parameter.as_ref()).and_then(|p| p.found.as_ref())
            && !found.managed()
        {
            conflicts.push(parameter_conflict(found, self.destroy));
        }
        conflicts
    }

    async fn apply(&self, op: &Change) -> Result<()> {
        match op {
            Change::File(op) => self.write_file(op),
            Change::Parameter(op) => self.change_parameter(op).await,
        }
    }
}

impl ProxyConfigStep {
    fn write_file(&self, op: &WriteFile) -> Result<()> {
        // A saved plan only writes where the configuration says.
        if op.path != self.path {
            anyhow::bail!(
                "the plan writes {}, but the configuration's proxy config_file is {} — make a new plan",
                op.path.display(),
                self.path.display()
            );
        }
        match &op.content {
            Some(content) => atomic_write(&op.path, content.as_bytes(), 0o644),
            None => match std::fs::remove_file(&op.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(e).with_context(|| format!("cannot remove {}", op.path.display()))
                }
                _ => Ok(()),
            },
        }
    }

    async fn change_parameter(&self, op: &ParameterChange) -> Result<()> {
        let Some(wanted) = self
            .parameter
            .as_ref()
            .filter(|p| p.name == op.ssm_parameter)
        else {
            bail!(
                "the plan changes SSM parameter {}, but the configuration's session_key_parameter is {} — make a new plan",
                op.ssm_parameter,
                self.parameter
                    .as_ref()
                    .map_or("not set", |p| p.name.as_str())
            );
        };
        let client = &wanted.clients.ssm;
        match op.change {
            ParameterAction::Create => {
                let text = zeroize::Zeroizing::new(crate::proxy::auth::keys::new_text()?);
                ssm::create(client, &wanted.name, &text, &wanted.owner).await?;
                Ok(())
            }
            ParameterAction::Rotate => rotate(client, &wanted.name).await.map(|_| ()),
            ParameterAction::Delete => ssm::delete(client, &wanted.name).await,
        }
    }
}

/// Puts a new key first in the parameter `name`, keeping the two newest
/// of its keys, when webtier's tag is on it (a parameter someone else
/// made is never changed). Returns the new key's id.
pub async fn rotate(client: &aws_sdk_ssm::Client, name: &str) -> Result<String> {
    let found = ssm::observe(client, name).await?.ok_or_else(|| {
        anyhow!(
            "SSM parameter {name} does not exist — run `webtier apply proxy-config` to create it"
        )
    })?;
    if !found.managed() {
        let (key, value) = ssm::MANAGED_BY;
        bail!(
            "SSM parameter {name} has no {key}={value} tag: webtier did not create it and does not change it — rotate it where it is managed, or delete it and run `webtier apply proxy-config`"
        );
    }
    let text = ssm::value(client, name).await?;
    let (rotated, id) = crate::proxy::auth::keys::rotated(&text).map_err(|e| {
        // What is wrong, without the key file's remedy.
        let e = e.to_string();
        let e = e.split(" — ").next().unwrap_or_default();
        anyhow!(
            "SSM parameter {name} holds no session keys ({e}) — delete it and run `webtier apply proxy-config` to create it"
        )
    })?;
    let rotated = zeroize::Zeroizing::new(rotated);
    ssm::overwrite(client, name, &rotated).await?;
    Ok(id)
}

/// Pure: what the session key parameter `name` needs, found as `found`
/// at `now` (unix seconds): creating when missing, a new key when older
/// than `rotate_days`, deleting (`destroy`); only ever on a parameter with
/// webtier's tag.
pub fn diff_parameter(
    name: &str,
    rotate_days: u32,
    found: Option<&Parameter>,
    now: i64,
    destroy: bool,
) -> Vec<Planned<Change>> {
    let planned = |action, resource: String, change| Planned {
        action,
        resource,
        detail: String::new(),
        operation: Change::Parameter(ParameterChange {
            ssm_parameter: name.to_string(),
            change,
        }),
    };
    match found {
        None if destroy => Vec::new(),
        None => vec![planned(
            Action::Create,
            format!("ssm parameter {name} (SecureString: a new session key)"),
            ParameterAction::Create,
        )],
        Some(p) if !p.managed() => Vec::new(),
        Some(_) if destroy => vec![planned(
            Action::Delete,
            format!("ssm parameter {name}"),
            ParameterAction::Delete,
        )],
        Some(p) => {
            const DAY: i64 = 86_400;
            // Without a date, as new: rotated by hand only.
            let age = p.last_modified.map_or(0, |t| now.saturating_sub(t));
            if age < i64::from(rotate_days) * DAY {
                return Vec::new();
            }
            vec![planned(
                Action::Update,
                format!(
                    "ssm parameter {name}: rotate the session key ({} days old; rotated every {rotate_days} days)",
                    age / DAY
                ),
                ParameterAction::Rotate,
            )]
        }
    }
}

/// The line a parameter without webtier's tag gets in the plan.
fn parameter_conflict(found: &Parameter, destroy: bool) -> Conflict {
    let (key, value) = ssm::MANAGED_BY;
    let what = if destroy {
        "webtier leaves it"
    } else {
        "the proxies read its keys; webtier never rotates or deletes it"
    };
    Conflict {
        resource: format!("ssm parameter {}", found.name),
        reason: format!("webtier did not create it (no {key}={value} tag) — {what}"),
    }
}

/// Pure: the change that makes `path` hold `desired`, with a unified diff.
pub fn diff_file(path: &Path, desired: &str, current: Option<&[u8]>) -> Vec<Planned<WriteFile>> {
    crate::plan::render::file_change(path, desired, current)
        .map(|(action, resource, detail)| Planned {
            action,
            resource,
            detail,
            operation: WriteFile {
                path: path.to_path_buf(),
                content: Some(desired.to_string()),
            },
        })
        .into_iter()
        .collect()
}

/// Whether a file is one webtier wrote (its first line says so): destroy
/// removes only such a file.
fn generated(content: &[u8]) -> bool {
    content.starts_with(b"# Generated by webtier from ")
}

/// Pure: the removal of the file at `path`, when it exists (and is
/// webtier's).
pub fn removal(path: &Path, exists: bool) -> Vec<Planned<WriteFile>> {
    if !exists {
        return Vec::new();
    }
    vec![Planned {
        action: crate::plan::Action::Delete,
        resource: format!("file {}", path.display()),
        detail: String::new(),
        operation: WriteFile {
            path: path.to_path_buf(),
            content: None,
        },
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;

    #[test]
    fn destroy_removes_only_a_file_webtier_wrote() {
        let ours = b"# Generated by webtier from /etc/webtier/webtier.toml.\nversion = 1\n";
        assert!(generated(ours));
        assert!(!generated(b"# my own proxy file\n"));
        assert_eq!(removal(Path::new("/p"), true).len(), 1);
        assert!(removal(Path::new("/p"), false).is_empty());
    }

    fn parameter(managed: bool, days_old: i64) -> Parameter {
        let mut tags = std::collections::BTreeMap::new();
        if managed {
            tags.insert("managed-by".to_string(), "webtier".to_string());
        }
        Parameter {
            name: "/w/keys".into(),
            last_modified: Some(NOW - days_old * 86_400),
            tags,
        }
    }

    const NOW: i64 = 1_800_000_000;

    fn lines(changes: &[Planned<Change>]) -> Vec<String> {
        changes
            .iter()
            .map(|c| format!("{} {}", c.action.symbol(), c.resource))
            .collect()
    }

    #[test]
    fn the_session_key_parameter_is_created_then_rotated_when_old() {
        let created = diff_parameter("/w/keys", 30, None, NOW, false);
        assert_eq!(
            lines(&created),
            ["+ ssm parameter /w/keys (SecureString: a new session key)"]
        );
        assert_eq!(
            created[0].operation,
            Change::Parameter(ParameterChange {
                ssm_parameter: "/w/keys".into(),
                change: ParameterAction::Create
            })
        );
        // Young enough: nothing, so a second plan is empty.
        assert!(diff_parameter("/w/keys", 30, Some(&parameter(true, 29)), NOW, false).is_empty());
        let old = diff_parameter("/w/keys", 30, Some(&parameter(true, 41)), NOW, false);
        assert_eq!(
            lines(&old),
            [
                "~ ssm parameter /w/keys: rotate the session key (41 days old; rotated every 30 days)"
            ]
        );
        assert!(matches!(
            &old[0].operation,
            Change::Parameter(ParameterChange {
                change: ParameterAction::Rotate,
                ..
            })
        ));
        // Someone else's: read, never changed, whatever its age.
        assert!(diff_parameter("/w/keys", 30, Some(&parameter(false, 400)), NOW, false).is_empty());
        assert!(diff_parameter("/w/keys", 30, Some(&parameter(false, 400)), NOW, true).is_empty());
        // Destroy: webtier's goes, a missing one needs nothing.
        assert_eq!(
            lines(&diff_parameter(
                "/w/keys",
                30,
                Some(&parameter(true, 1)),
                NOW,
                true
            )),
            ["- ssm parameter /w/keys"]
        );
        assert!(diff_parameter("/w/keys", 30, None, NOW, true).is_empty());
        let conflict = parameter_conflict(&parameter(false, 1), false);
        assert_eq!(conflict.resource, "ssm parameter /w/keys");
        assert!(
            conflict.reason.contains("no managed-by=webtier tag"),
            "{conflict:?}"
        );
    }

    #[test]
    fn a_saved_plan_tells_a_file_change_from_a_parameter_change() {
        let file: Change = serde_json::from_str(r#"{"path": "/p", "content": "a\n"}"#).unwrap();
        assert_eq!(
            file,
            Change::File(WriteFile {
                path: "/p".into(),
                content: Some("a\n".into())
            })
        );
        let json = serde_json::to_string(&Change::Parameter(ParameterChange {
            ssm_parameter: "/w/keys".into(),
            change: ParameterAction::Rotate,
        }))
        .unwrap();
        assert_eq!(json, r#"{"ssm_parameter":"/w/keys","change":"rotate"}"#);
        assert!(matches!(
            serde_json::from_str::<Change>(&json).unwrap(),
            Change::Parameter(_)
        ));
    }

    #[test]
    fn same_content_means_no_change() {
        assert!(diff_file(Path::new("/p"), "a\n", Some(b"a\n")).is_empty());
    }

    #[test]
    fn missing_file_is_created() {
        let changes = diff_file(Path::new("/p"), "a\n", None);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].action, Action::Create);
        assert!(changes[0].detail.contains("+a"));
    }

    #[test]
    fn different_content_is_an_update_with_a_unified_diff() {
        let changes = diff_file(Path::new("/p"), "a\nb\n", Some(b"a\nc\n"));
        assert_eq!(changes[0].action, Action::Update);
        let d = &changes[0].detail;
        assert!(
            d.contains("--- /p (on disk)") && d.contains("+++ /p (planned)"),
            "{d}"
        );
        assert!(d.contains("-c\n") && d.contains("+b\n"), "{d}");
    }
}
