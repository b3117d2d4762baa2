//! `proxy-config`: the bundled proxy's configuration file, rendered from
//! `webtier.toml`. Desired: the rendered text. Observed: the file on disk.
//! Change: replace it atomically (permissions kept).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::fsutil::atomic_write;
use crate::plan::StepName;
use crate::plan::{Planned, Step};
use crate::proxy::config::ProxyConfig;

pub struct ProxyConfigStep {
    path: PathBuf,
    content: String,
    /// `webtier destroy`: the file goes.
    destroy: bool,
}

/// The file as found on disk.
#[derive(Debug, Serialize)]
pub struct FileState {
    pub path: PathBuf,
    /// None when the file does not exist.
    pub content: Option<Vec<u8>>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct WriteFile {
    pub path: PathBuf,
    /// None: remove the file (`webtier destroy`).
    pub content: Option<String>,
}

impl ProxyConfigStep {
    pub fn new(config: &Config) -> Result<ProxyConfigStep> {
        let content = crate::config::proxy_file::render(config);
        // The daemon must be able to read what we write.
        ProxyConfig::from_toml(&content)
            .map_err(|e| anyhow!("the rendered proxy configuration does not parse back: {e}"))?;
        Ok(ProxyConfigStep {
            path: config.proxy.config_file.clone(),
            content,
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
    type Operation = WriteFile;

    fn name(&self) -> StepName {
        StepName::ProxyConfig
    }

    async fn observe(&self) -> Result<FileState> {
        crate::fsutil::check_writable(&self.path)?;
        let content = match std::fs::read(&self.path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", self.path.display()));
            }
        };
        Ok(FileState {
            path: self.path.clone(),
            content,
        })
    }

    fn diff(&self, observed: &FileState) -> Vec<Planned<WriteFile>> {
        if self.destroy {
            return removal(&self.path, observed.content.is_some());
        }
        diff_file(&self.path, &self.content, observed.content.as_deref())
    }

    async fn apply(&self, op: &WriteFile) -> Result<()> {
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

/// Pure: the removal of the file at `path`, when it exists.
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
