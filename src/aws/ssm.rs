//! SSM Parameter Store as webtier uses it: the parameter that holds the
//! login session keys shared by the proxies of several instances
//! (`[proxy] session_key_parameter`). webtier creates it tagged, and
//! changes or deletes only a parameter with its tag. Its value (the keys)
//! is read only to rotate it, and never leaves this module but to be
//! written back. Used by the `proxy-config` step and `webtier proxy
//! rotate-session-key`.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow};
use aws_sdk_ssm::types::{ParameterType, ResourceTypeForTagging, Tag};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{api_error, error_code};

/// The parameter webtier creates carries this tag…
pub const MANAGED_BY: (&str, &str) = ("managed-by", "webtier");
/// …and this one, naming the webtier (`[dns] owner`) that made it.
pub const OWNER_TAG: &str = "webtier-owner";

/// A parameter as webtier looks at it (never its value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameter {
    pub name: String,
    /// Unix seconds of its last change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<i64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

impl Parameter {
    /// Whether webtier created it (its tag is on it).
    pub fn managed(&self) -> bool {
        let (key, value) = MANAGED_BY;
        self.tags.get(key).is_some_and(|v| v == value)
    }
}

/// The parameter `name` and its tags, or None when it does not exist.
/// Its value is not decrypted.
pub async fn observe(client: &aws_sdk_ssm::Client, name: &str) -> Result<Option<Parameter>> {
    let out = match client
        .get_parameter()
        .name(name)
        .with_decryption(false)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if error_code(&e) == Some("ParameterNotFound") => return Ok(None),
        Err(e) => return Err(api_error("ssm:GetParameter", e)),
    };
    let last_modified = out
        .parameter
        .as_ref()
        .and_then(|p| p.last_modified_date())
        .map(|d| d.secs());
    let tags = client
        .list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(name)
        .send()
        .await
        .map_err(|e| api_error("ssm:ListTagsForResource", e))?
        .tag_list
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect();
    Ok(Some(Parameter {
        name: name.to_string(),
        last_modified,
        tags,
    }))
}

/// Creates `name` (a SecureString) holding `value`, tagged as webtier's
/// for `owner`. False when it exists already (then nothing is changed).
pub async fn create(
    client: &aws_sdk_ssm::Client,
    name: &str,
    value: &str,
    owner: &str,
) -> Result<bool> {
    let tag = |key: &str, value: &str| {
        Tag::builder()
            .key(key)
            .value(value)
            .build()
            .map_err(|e| anyhow!("an SSM tag: {e}"))
    };
    let (key, managed) = MANAGED_BY;
    match client
        .put_parameter()
        .name(name)
        .description("webtier: the keys that seal login sessions (one a line, the newest first)")
        .r#type(ParameterType::SecureString)
        .value(value)
        .overwrite(false)
        .tags(tag(key, managed)?)
        .tags(tag(OWNER_TAG, owner)?)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if error_code(&e) == Some("ParameterAlreadyExists") => Ok(false),
        Err(e) => Err(api_error("ssm:PutParameter", e)),
    }
}

/// The value of `name`, decrypted.
pub async fn value(client: &aws_sdk_ssm::Client, name: &str) -> Result<Zeroizing<String>> {
    let out = client
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| match error_code(&e) {
            Some("ParameterNotFound") => anyhow!(
                "SSM parameter {name} does not exist — run `webtier apply proxy-config` to create it"
            ),
            _ => api_error("ssm:GetParameter", e),
        })?;
    Ok(Zeroizing::new(
        out.parameter
            .and_then(|p| p.value)
            .ok_or_else(|| anyhow!("SSM answered no value for {name}"))?,
    ))
}

/// Replaces the value of `name` (which exists).
pub async fn overwrite(client: &aws_sdk_ssm::Client, name: &str, value: &str) -> Result<()> {
    client
        .put_parameter()
        .name(name)
        .r#type(ParameterType::SecureString)
        .value(value)
        .overwrite(true)
        .send()
        .await
        .map_err(|e| api_error("ssm:PutParameter", e))?;
    Ok(())
}

/// Deletes `name`; one that is gone already counts as deleted.
pub async fn delete(client: &aws_sdk_ssm::Client, name: &str) -> Result<()> {
    match client.delete_parameter().name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if error_code(&e) == Some("ParameterNotFound") => Ok(()),
        Err(e) => Err(api_error("ssm:DeleteParameter", e)),
    }
}
