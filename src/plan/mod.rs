//! The plan/apply engine. Every step observes live state (read-only),
//! diffs it against the desired state with a pure function, and applies
//! one idempotent change at a time. A [`Plan`] is the ordered list of
//! changes of the requested steps plus a fingerprint of what was observed,
//! so a saved plan can be refused when the world moved on.

pub mod engine;
pub mod render;
pub mod saved;
mod step_name;

use std::future::Future;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use step_name::StepName;

/// The JSON schema version of plans (`plan --json`, `plan --out`) and of
/// `apply --json` reports.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn symbol(self) -> char {
        match self {
            Action::Create => '+',
            Action::Update => '~',
            Action::Delete => '-',
        }
    }
}

/// One change a step proposes, as produced by its pure `diff`.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned<Op> {
    pub action: Action,
    /// What is changed, in words: `file /etc/webtier/proxy.toml`.
    pub resource: String,
    /// Human detail shown under the change (a unified diff, attribute
    /// changes); may be empty.
    pub detail: String,
    /// What apply will do, exactly.
    pub operation: Op,
}

/// A step: the same three phases for every kind of resource.
pub trait Step: Send + Sync {
    /// Live state as observed; its JSON form is fingerprinted.
    type Observed: Serialize + Send + Sync;
    /// One idempotent write; saved in plan files.
    type Operation: Serialize + DeserializeOwned + Send + Sync;

    fn name(&self) -> StepName;

    /// Read-only calls that fetch the live state that matters, and only that.
    fn observe(&self) -> impl Future<Output = anyhow::Result<Self::Observed>> + Send;

    /// Pure: what must change to reach the desired state.
    fn diff(&self, observed: &Self::Observed) -> Vec<Planned<Self::Operation>>;

    /// Pure: live state the step will not change and the user should know
    /// about (for example a DNS record webtier does not own).
    fn conflicts(&self, _observed: &Self::Observed) -> Vec<Conflict> {
        Vec::new()
    }

    /// What applying needs beyond what observing needs (the right to
    /// write the step's local files), checked for every step with changes
    /// before the first change of a run, so that a run without it stops
    /// before anything is changed rather than half-way.
    fn check_apply(&self) -> anyhow::Result<()> {
        Ok(())
    }

    /// Performs one change. Idempotent: "already done" counts as success.
    fn apply(&self, operation: &Self::Operation)
    -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Performs all changes of this step, in order. One at a time by
    /// default; steps whose API takes batches (Route 53) override it.
    fn apply_all(
        &self,
        operations: &[Self::Operation],
    ) -> impl Future<Output = anyhow::Result<()>> + Send {
        async move {
            for op in operations {
                self.apply(op).await?;
            }
            Ok(())
        }
    }
}

/// Live state a step leaves alone, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub resource: String,
    pub reason: String,
}

/// A change in a plan, with its operation in serialized form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub action: Action,
    pub resource: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    pub operation: serde_json::Value,
}

/// The changes of one step and the fingerprint of what it observed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepPlan {
    pub step: StepName,
    /// `sha256:` of the observed state.
    pub fingerprint: String,
    pub changes: Vec<Change>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

impl Summary {
    pub fn of<'a>(changes: impl IntoIterator<Item = &'a Change>) -> Summary {
        let mut s = Summary::default();
        for c in changes {
            match c.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Delete => s.destroy += 1,
            }
        }
        s
    }

    pub fn total(&self) -> usize {
        self.add + self.change + self.destroy
    }
}

/// A plan: the JSON of `plan --json` and of saved plan files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub webtier_version: String,
    /// The configuration file the plan was made from.
    pub config: std::path::PathBuf,
    /// A plan of `webtier destroy` (`plan --destroy`): what to remove.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destroy: Option<Destroy>,
    pub steps: Vec<StepPlan>,
    pub summary: Summary,
}

/// What a destroy plan does with certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destroy {
    /// Revoke them at the CA (`--revoke`); else they are kept.
    pub revoke: bool,
}

impl Plan {
    pub fn new(config: std::path::PathBuf, steps: Vec<StepPlan>) -> Plan {
        let summary = Summary::of(steps.iter().flat_map(|s| &s.changes));
        Plan {
            format_version: FORMAT_VERSION,
            webtier_version: env!("CARGO_PKG_VERSION").to_string(),
            config,
            destroy: None,
            steps,
            summary,
        }
    }

    pub fn has_changes(&self) -> bool {
        self.summary.total() > 0
    }
}

/// `sha256:<hex>` of a value's JSON form.
pub fn fingerprint<T: Serialize>(value: &T) -> anyhow::Result<String> {
    use sha2::{Digest, Sha256};
    let bytes = serde_json::to_vec(value)?;
    let digest = Sha256::digest(&bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("sha256:{hex}"))
}
