//! The command-line definition. This one clap tree feeds argument parsing,
//! `--help`, the man page and every shell's completions, so they cannot
//! disagree.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::plan::StepName;

#[derive(Debug, Parser)]
#[command(
    name = "webtier",
    version,
    about = "Take an application on AWS EC2 to a secure public HTTPS site and keep it there",
    long_about = "Take an application on AWS EC2 to a secure public HTTPS site and keep it there.\n\n\
        Every step is an idempotent plan/apply driven by one file, webtier.toml: \
        `webtier plan` shows what would change, `webtier apply` changes it.",
    after_help = "Exit codes: 0 success or no changes, 1 error, 2 changes present (plan --detailed-exitcode), \
        3 configuration invalid, 4 saved plan is stale.",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Path of the configuration file [default: webtier.toml]
    #[arg(long, global = true, env = "WEBTIER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Short for --output json
    #[arg(long, global = true, conflicts_with = "output")]
    pub json: bool,

    /// Print only results and errors: no progress or informational lines
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Log more detail to stderr (-v info, -vv debug, -vvv trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Never use colors (also when NO_COLOR is set)
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Answer yes to confirmation prompts (required to apply when stdin is not a terminal)
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,
}

impl GlobalArgs {
    /// The configuration file: --config, WEBTIER_CONFIG, or ./webtier.toml.
    pub fn config_path(&self) -> PathBuf {
        self.config
            .clone()
            .unwrap_or_else(|| PathBuf::from("webtier.toml"))
    }

    pub fn format(&self) -> OutputFormat {
        if self.json {
            OutputFormat::Json
        } else {
            self.output
        }
    }

    /// What these flags ask of the output, in `ui`'s terms.
    pub fn ui_options(&self) -> crate::ui::Options {
        crate::ui::Options {
            json: self.format() == OutputFormat::Json,
            quiet: self.quiet,
            no_color: self.no_color,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write webtier.toml (asking on a terminal, or from flags) and take
    /// this machine all the way: firewall, DNS, proxy, certificate, renewal
    Init(InitArgs),
    /// Show what webtier would change, without changing anything
    Plan(PlanArgs),
    /// Make the changes, after confirmation (or a saved plan, exactly)
    Apply(ApplyArgs),
    /// Remove what webtier created, and nothing else: its security-group
    /// rules, its DNS records, the proxy service, the renewal schedule
    /// (certificates are kept unless --revoke); after confirmation
    Destroy(DestroyArgs),
    /// Check every site: ports open, DNS records and resolution,
    /// certificate and renewal, proxy, served certificate, upstreams
    /// (exit 1 when a check fails)
    Status,
    /// Security-group ingress for ports 80/443 on the target instances
    #[command(subcommand)]
    Firewall(StepAction),
    /// Route 53 records for every site name
    #[command(subcommand)]
    Dns(StepAction),
    /// Certificates: issue, renew (from cron), status
    #[command(subcommand)]
    Cert(CertCommand),
    /// Check or show the configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The bundled proxy: run it, validate its configuration, reload it
    #[command(subcommand)]
    Proxy(ProxyCommand),
    /// Print the least-privilege IAM policy for the configured steps (JSON)
    IamPolicy,
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page webtier(1) (roff), or write it and the page of
    /// every subcommand it refers to into a directory
    Man {
        /// Write every page (webtier.1, webtier-plan.1, …) into DIR, which
        /// must exist
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The site's domain (asked on a terminal when missing)
    #[arg(long, value_name = "NAME")]
    pub domain: Option<String>,

    /// Another name of the site (repeat for several)
    #[arg(long = "alias", value_name = "NAME")]
    pub aliases: Vec<String>,

    /// Contact email for the certificate authority
    #[arg(long, value_name = "ADDRESS")]
    pub email: Option<String>,

    /// The app's address, HOST:PORT [default: 127.0.0.1:8000 when something listens there]
    #[arg(long, value_name = "HOST:PORT")]
    pub upstream: Option<String>,

    /// The EC2 instance to open and point the names at: `self` or an id [default: self]
    #[arg(long, value_name = "self|ID")]
    pub instance: Option<String>,

    /// Certificates: from an ACME CA (Let's Encrypt); from AWS Certificate
    /// Manager, exported to this instance (charged by AWS per issuance and
    /// renewal) or kept in ACM for a load balancer or CloudFront; or none
    /// (plain HTTP)
    #[arg(long, value_enum, value_name = "KIND")]
    pub tls: Option<InitTls>,

    /// AWS region [default: the standard chain: AWS_REGION, profile, the instance's own]
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// ACME directory: letsencrypt, letsencrypt-staging or an https:// URL [default: letsencrypt]
    #[arg(long, value_name = "URL")]
    pub acme_directory: Option<String>,

    /// An extra trust root (PEM) for the ACME server's own HTTPS, for a test CA
    #[arg(long, value_name = "FILE")]
    pub ca_root: Option<PathBuf>,

    /// Overwrite an existing configuration file that differs
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitTls {
    Acme,
    AcmExport,
    AcmManaged,
    None,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Also revoke the certificates at the CA (they stay in the archive)
    #[arg(long)]
    pub revoke: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Steps to plan (default: every step the configuration sets up)
    #[arg(value_enum, value_name = "STEP")]
    pub steps: Vec<StepName>,

    /// Plan `webtier destroy`: what removing webtier's resources would do
    #[arg(long)]
    pub destroy: bool,

    /// With --destroy: also revoke the certificates
    #[arg(long, requires = "destroy")]
    pub revoke: bool,

    #[command(flatten)]
    pub options: PlanOptions,
}

#[derive(Debug, Clone, Args)]
pub struct PlanOptions {
    /// Save the plan to FILE, for `webtier apply FILE`
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Exit 2 when the plan has changes (0: none, 1: error)
    #[arg(long)]
    pub detailed_exitcode: bool,

    #[command(flatten)]
    pub change: ChangeOptions,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Steps to apply (default: every step the configuration sets up), or
    /// the path of a plan saved with `plan --out`
    #[arg(value_name = "STEP|PLANFILE")]
    pub targets: Vec<String>,

    #[command(flatten)]
    pub change: ChangeOptions,
}

#[derive(Debug, Clone, Copy, Default, Args)]
pub struct ChangeOptions {
    /// firewall: also remove rules webtier added that are no longer desired (never others)
    #[arg(long)]
    pub prune: bool,

    /// dns: take over address records of the site names that webtier did not create
    #[arg(long)]
    pub adopt: bool,

    /// Set by `webtier destroy` and `plan --destroy`.
    #[arg(skip)]
    pub destroy: Option<crate::plan::Destroy>,
}

impl ChangeOptions {
    pub fn steps(self) -> crate::steps::Options {
        crate::steps::Options {
            prune: self.prune,
            adopt: self.adopt,
            destroy: self.destroy.map(|d| {
                if d.revoke {
                    crate::steps::cert::Revoke::Revoke
                } else {
                    crate::steps::cert::Revoke::Keep
                }
            }),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Show which certificates would be issued or renewed
    Plan(PlanOptions),
    /// Issue or renew what is due, after confirmation
    Apply(ChangeOptions),
    /// Issue ACME certificates now, due or not (all ACME sites, or one)
    Issue {
        /// A site's domain
        site: Option<String>,
        #[command(flatten)]
        hooks: HookOptions,
    },
    /// Renew what is due, follow ACM's renewals and keep ACM imports
    /// current; silent when nothing is due (for cron)
    Renew {
        /// Renew every ACME certificate, re-export every ACM one and
        /// re-import every import, due or not
        #[arg(long)]
        force: bool,
        /// Run the whole ACME order against the staging or test CA; install
        /// nothing, and only say what would change in ACM
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        hooks: HookOptions,
    },
    /// Certificates, expiry and last result, ACM's too (text table or JSON)
    Status,
    /// Import a site's ACME certificate into AWS Certificate Manager (for a
    /// load balancer or CloudFront), or re-import it to the same ARN
    ImportToAcm {
        /// A site's domain (default: every site with [site.acm] import = true)
        site: Option<String>,
    },
    /// Revoke a site's live certificate at the CA
    Revoke {
        /// The site's domain
        site: String,
        /// Reason given to the CA
        #[arg(long, value_enum, default_value_t = RevokeReason::Unspecified)]
        reason: RevokeReason,
    },
    /// Install a systemd timer or cron entry that runs `cert renew` twice a day
    Schedule {
        /// Which scheduler (default: systemd when it runs, else cron)
        #[arg(long = "with", value_enum)]
        scheduler: Option<Scheduler>,
        /// Print the files instead of installing them
        #[arg(long)]
        print: bool,
        /// Install under this root instead of / (for packaging)
        #[arg(long, value_name = "DIR", default_value = "/")]
        root: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RevokeReason {
    Unspecified,
    KeyCompromise,
    Superseded,
    CessationOfOperation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scheduler {
    Systemd,
    Cron,
}

#[derive(Debug, Args)]
pub struct HookOptions {
    /// Run this shell command after each new certificate (paths in
    /// WEBTIER_CERT_NAME, WEBTIER_CERT_DIR, WEBTIER_FULLCHAIN, WEBTIER_PRIVKEY, WEBTIER_NAMES)
    #[arg(long, value_name = "CMD")]
    pub deploy_hook: Option<String>,
}

/// `plan` and `apply` for one step.
#[derive(Debug, Subcommand)]
pub enum StepAction {
    /// Show what this step would change
    Plan(PlanOptions),
    /// Make this step's changes, after confirmation
    Apply(ChangeOptions),
}

#[derive(Debug, Subcommand)]
pub enum ProxyCommand {
    /// Run the proxy in the foreground: SIGHUP reloads configuration and
    /// certificates, SIGTERM stops accepting and drains in-flight requests
    Run {
        #[command(flatten)]
        file: ProxyFile,
        /// Worker threads (overrides the file's `workers`; 0 = one per core)
        #[arg(long, value_name = "N")]
        workers: Option<usize>,
        /// Start a new session first (used by `proxy start`)
        #[arg(long, hide = true)]
        detached: bool,
    },
    /// Start the proxy in the background (a new session, output appended
    /// to proxy.log next to its pid file); returns once it serves
    Start {
        #[command(flatten)]
        file: ProxyFile,
    },
    /// Stop the running proxy: it stops accepting, drains in-flight
    /// requests and exits; returns once it has exited
    Stop {
        #[command(flatten)]
        file: ProxyFile,
    },
    /// Whether the proxy runs: pid, uptime, configuration, listeners, sites
    /// not served (exit 1 when it does not run or refuses a site)
    Status {
        #[command(flatten)]
        file: ProxyFile,
    },
    /// Check a proxy configuration: the file, every site's certificate and
    /// static roots, the listen addresses; list every problem (exit 3 when
    /// invalid)
    Validate {
        #[command(flatten)]
        file: ProxyFile,
        /// Also connect to every upstream (each must accept a TCP
        /// connection within 3 s)
        #[arg(long)]
        probe: bool,
    },
    /// Ask the running proxy to reload (SIGHUP to the process in its pid file)
    Reload {
        #[command(flatten)]
        file: ProxyFile,
    },
    /// Remove responses from the running proxy's cache (all of them, one
    /// key, or every key under a prefix), through its admin listener
    PurgeCache {
        #[command(flatten)]
        file: ProxyFile,
        /// One key: the host and target as clients send them
        /// (`example.com/a?b=1`)
        #[arg(long, value_name = "KEY", conflicts_with = "prefix")]
        key: Option<String>,
        /// Every key that starts with this (`example.com/blog/`)
        #[arg(long, value_name = "PREFIX")]
        prefix: Option<String>,
    },
    /// Put a new key first in the session key file (sessions sealed with
    /// the two keys before it stay valid until they expire) and ask the
    /// running proxy to reload
    RotateSessionKey {
        #[command(flatten)]
        file: ProxyFile,
    },
    /// Print the proxy configuration that webtier.toml renders (what
    /// `apply proxy-config` writes), without writing it
    Config {
        /// Print this proxy file instead, as the proxy reads it: checked,
        /// every default spelled out
        #[arg(long = "file", value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// Print the proxy configuration as another server's (for those who keep nginx)
    #[command(subcommand)]
    Export(ExportCommand),
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// An nginx.conf that serves what the proxy serves (what nginx cannot do
    /// the same way is named in its comments)
    Nginx {
        #[command(flatten)]
        file: ProxyFile,
        /// Write it to FILE (atomically) instead of standard output
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct ProxyFile {
    /// The proxy configuration file [default: webtier.toml's proxy config_file]
    #[arg(long = "file", value_name = "FILE")]
    pub path: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration; list every problem (exit 3 when invalid)
    Check,
    /// Print the resolved configuration with defaults filled in
    Show,
}

/// Step names as argument values; their help is the step's summary.
impl ValueEnum for StepName {
    fn value_variants<'a>() -> &'a [Self] {
        &StepName::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()).help(self.summary()))
    }
}

pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn json_is_short_for_output_json() {
        let cli = Cli::try_parse_from(["webtier", "--json", "plan"]).unwrap();
        assert_eq!(cli.global.format(), OutputFormat::Json);
        let cli = Cli::try_parse_from(["webtier", "plan", "--output", "json"]).unwrap();
        assert_eq!(cli.global.format(), OutputFormat::Json);
        assert!(cli.global.ui_options().json);
        let cli = Cli::try_parse_from(["webtier", "plan"]).unwrap();
        assert!(!cli.global.ui_options().json);
    }

    #[test]
    fn unknown_step_is_rejected_by_the_parser() {
        let err = Cli::try_parse_from(["webtier", "plan", "bogus"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
    }
}
