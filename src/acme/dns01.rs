//! DNS-01 challenge responses in Route 53: `_acme-challenge` TXT records
//! upserted (all values of a name in one set, one batch per zone), waited
//! for until INSYNC, and deleted again after the order.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Result, anyhow};

use crate::aws::Clients;
use crate::aws::route53::{self, RecordAction, RecordOp, RecordSet, Zone};
use crate::config::Config;

pub struct Dns01 {
    clients: Clients,
    zones: Vec<Zone>,
    wait: Duration,
    published: Vec<RecordOp>,
}

/// The TXT record name for an identifier (`*.example.com` validates at
/// `_acme-challenge.example.com`).
pub fn record_name(identifier: &str) -> String {
    format!("_acme-challenge.{}", identifier.trim_start_matches("*."))
}

impl Dns01 {
    pub async fn new(config: &Config) -> Result<Dns01> {
        let clients = Clients::connect(&config.aws).await?;
        let zones = route53::public_zones(&clients).await?;
        Ok(Dns01 {
            clients,
            zones,
            wait: Duration::from_secs(config.dns.wait_timeout),
            published: Vec::new(),
        })
    }

    /// Publishes every challenge value (identifier → values) and waits until
    /// Route 53 serves them.
    pub async fn publish(&mut self, values: &BTreeMap<String, Vec<String>>) -> Result<()> {
        let mut ops = Vec::new();
        for (name, vals) in values {
            let zone = route53::zone_for(name, None, &self.zones)
                .map_err(|e| anyhow!("dns-01 for {name}: {e}"))?;
            let mut quoted: Vec<String> = vals.iter().map(|v| format!("\"{v}\"")).collect();
            quoted.sort();
            ops.push(RecordOp {
                zone_id: zone.id,
                action: RecordAction::Upsert,
                set: RecordSet {
                    name: name.clone(),
                    rtype: "TXT".into(),
                    ttl: Some(60),
                    values: quoted,
                    alias: None,
                    set_identifier: None,
                },
            });
        }
        for (zone, batch) in route53::by_zone(&ops) {
            route53::submit(&self.clients, zone, &batch, self.wait).await?;
        }
        self.published = ops;
        Ok(())
    }

    /// Deletes what `publish` created. Failures are logged, not fatal: the
    /// certificate does not depend on them, and the next order upserts.
    pub async fn cleanup(&mut self) {
        let deletes: Vec<RecordOp> = self
            .published
            .drain(..)
            .map(|mut op| {
                op.action = RecordAction::Delete;
                op
            })
            .collect();
        for (zone, batch) in route53::by_zone(&deletes) {
            if let Err(e) = route53::submit(&self.clients, zone, &batch, self.wait).await {
                tracing::warn!("cannot remove the dns-01 records from zone {zone}: {e:#}");
            }
        }
    }
}
