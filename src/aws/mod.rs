//! AWS clients, built once from `[aws]` and the standard chain, and the
//! translation of AWS errors into messages that say what to fix.

pub mod acm;
pub mod elb;
pub mod ingress;
pub mod instances;
pub mod route53;
pub mod ssm;

use std::error::Error as StdError;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};

use crate::config;

/// The AWS clients of one run.
pub struct Clients {
    pub ec2: aws_sdk_ec2::Client,
    pub route53: aws_sdk_route53::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    /// Parameter Store, for the shared session keys.
    pub ssm: aws_sdk_ssm::Client,
    pub region: String,
    /// The loaded configuration, for clients made on demand (ACM, in the
    /// run's region or another).
    pub sdk: aws_config::SdkConfig,
    /// The target instances, looked up once per run (firewall and dns
    /// both need them).
    pub(crate) instances: tokio::sync::OnceCell<Vec<instances::Instance>>,
}

/// What the SDK's default credential chain tries, for the "no credentials"
/// message.
const CREDENTIAL_CHAIN: &str = "environment variables (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), \
     the shared config and credentials files (~/.aws/config, ~/.aws/credentials; AWS_PROFILE or [aws] profile), \
     web identity (AWS_WEB_IDENTITY_TOKEN_FILE), SSO, credential_process, ECS container credentials \
     and EC2 instance metadata (IMDSv2)";

impl Clients {
    pub async fn connect(aws: &config::Aws) -> Result<Clients> {
        // Transient errors and throttling: the SDK's standard retry mode
        // (exponential backoff with jitter), bounded.
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(5))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(30))
                    .build(),
            );
        if let Some(region) = &aws.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &aws.profile {
            loader = loader.profile_name(profile);
        }
        let sdk = loader.load().await;
        let Some(region) = sdk.region().map(|r| r.to_string()) else {
            bail!(
                "no AWS region: set region in [aws] or AWS_REGION (on EC2 the instance's own region is used)"
            );
        };
        Ok(Clients {
            ec2: aws_sdk_ec2::Client::new(&sdk),
            route53: aws_sdk_route53::Client::new(&sdk),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(&sdk),
            ssm: aws_sdk_ssm::Client::new(&sdk),
            region,
            sdk,
            instances: tokio::sync::OnceCell::new(),
        })
    }
}

/// An AWS call failed: say which action, why, and what to do.
pub fn api_error<E, R>(action: &str, err: SdkError<E, R>) -> anyhow::Error
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let Some(cred) = find_source::<CredentialsError>(&err) {
        return anyhow!(
            "no AWS credentials for {action}: {} — tried {CREDENTIAL_CHAIN}; configure one of them",
            cred
        );
    }
    let message = err.message().unwrap_or("").to_string();
    match err.code() {
        Some(
            code @ ("UnauthorizedOperation"
            | "AccessDenied"
            | "AccessDeniedException"
            | "AuthFailure"),
        ) => anyhow!(
            "AWS denied {action} ({code}) — grant {action} to this identity; `webtier iam-policy` prints the policy webtier needs"
        ),
        Some(code) if message.is_empty() => anyhow!("{action} failed: {code}"),
        Some(code) => anyhow!("{action} failed: {code}: {message}"),
        None => anyhow!("{action} failed: {}", chain(&err)),
    }
}

/// Pure: an error and its sources in words, each said once (the SDK's own
/// context display ends with the whole error's debug form).
fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// The error code of an AWS error, if it is a service error.
pub fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    err.code()
}

fn find_source<'a, T: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct E(&'static str, Option<Box<E>>);

    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl StdError for E {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            self.1.as_deref().map(|e| e as &(dyn StdError + 'static))
        }
    }

    #[test]
    fn a_chain_is_said_in_words_once_without_debug_forms() {
        let err = E(
            "dispatch failure",
            Some(Box::new(E(
                "io error",
                Some(Box::new(E(
                    "tcp connect error: Connection refused (os error 111)",
                    Some(Box::new(E("Connection refused (os error 111)", None))),
                ))),
            ))),
        );
        assert_eq!(
            chain(&err),
            "dispatch failure: io error: tcp connect error: Connection refused (os error 111)"
        );
    }
}
