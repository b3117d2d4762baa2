//! moto_server (AWS), pebble (ACME), nginx and a FastAPI app under uvicorn.

use std::fs;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{repo, require_bin, require_venv_bin};

const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A free TCP port on 127.0.0.1, below the kernel's ephemeral range. A
/// port from `bind(0)` comes from that range, and between the check and
/// the server's own bind the kernel can give it to an outgoing connection
/// of another test ("Address already in use"); ports below the range are
/// never handed out that way. Each port is given once per test process.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOW: u32 = 10_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let high = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u32>().ok())
        .filter(|&start| start > LOW + 2_000)
        .unwrap_or(0);
    if high == 0 {
        // No room below the range: the kernel's choice.
        return TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
    }
    let span = high - LOW;
    // Test binaries running side by side start in different places.
    let _ = NEXT.compare_exchange(
        0,
        std::process::id() * 97 % span + 1,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..span {
        let port = (LOW + NEXT.fetch_add(1, Ordering::SeqCst) % span) as u16;
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port between {LOW} and {high}");
}

/// A child process that is killed when dropped, with every process it
/// started (nginx's workers, uvicorn's reloader): it leads a process group
/// of its own, and the whole group is killed. Its output goes to a log
/// file that is shown when it fails to start.
pub struct Process {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    pub fn spawn(name: &str, cmd: &mut Command, dir: &Path) -> Process {
        let log = dir.join(format!("{name}.log"));
        let file = fs::File::create(&log).expect("log file");
        use std::os::unix::process::CommandExt;
        let child = cmd
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Process {
            name: name.to_string(),
            child,
            log,
        }
    }

    /// Waits until `port` on 127.0.0.1 accepts connections.
    pub fn wait_for_port(&mut self, port: u16) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status}) before listening on port {port}:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "{} did not listen on port {port} within {START_TIMEOUT:?}:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Kills the process and its group, and reaps it.
    pub fn kill(&mut self) {
        if let Some(group) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn tempdir() -> TempDir {
    tempfile::Builder::new()
        .prefix("webtier-test-")
        .tempdir()
        .expect("temporary directory")
}

// ---------------------------------------------------------------- moto

/// moto_server: the AWS APIs (EC2, Route 53, ACM) on loopback.
pub struct Moto {
    pub port: u16,
    #[expect(dead_code, reason = "held until drop: stops moto_server")]
    process: Process,
    #[expect(dead_code, reason = "held until drop: removes its working directory")]
    dir: TempDir,
}

impl Moto {
    pub fn start() -> Moto {
        Moto::start_with_env(&[])
    }

    /// Starts moto with extra environment, e.g.
    /// `INITIAL_NO_AUTH_ACTION_COUNT` to enforce IAM after N requests.
    pub fn start_with_env(env: &[(&str, &str)]) -> Moto {
        let bin = require_venv_bin("moto_server");
        let dir = tempdir();
        let port = free_port();
        let mut process = Process::spawn(
            "moto_server",
            Command::new(bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("MOTO_RECORDER_FILEPATH", dir.path().join("recording"))
                .envs(env.iter().copied())
                .current_dir(dir.path()),
            dir.path(),
        );
        process.wait_for_port(port);
        Moto { port, process, dir }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment that points the AWS SDK (in webtier or a test) at
    /// this server and nowhere else: dummy keys, no config files, no IMDS.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_CONFIG_FILE", "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// An SDK configuration for this server, built explicitly (no process
    /// environment is read, so a test can never reach real AWS).
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        let endpoint = self.endpoint();
        assert!(
            endpoint.starts_with("http://127.0.0.1:"),
            "not loopback: {endpoint}"
        );
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_ec2::config::Credentials::new(
                "test",
                "test",
                None,
                None,
                "webtier-tests",
            ))
            .load()
            .await
    }
}

/// Creates a public hosted zone in moto; returns its id (no prefix).
pub async fn create_zone(route53: &aws_sdk_route53::Client, name: &str, reference: &str) -> String {
    route53
        .create_hosted_zone()
        .name(name)
        .caller_reference(reference)
        .send()
        .await
        .expect("CreateHostedZone")
        .hosted_zone
        .expect("a hosted zone")
        .id
        .trim_start_matches("/hostedzone/")
        .to_string()
}

/// One request moto received, as its recorder saw it.
#[derive(Debug, Clone)]
pub struct Call {
    #[expect(dead_code, reason = "shown by Debug in failed assertions")]
    pub method: String,
    pub path: String,
    /// The IAM action name: `ec2:DescribeInstances`, `route53:GetChange`,
    /// `acm:RequestCertificate`, `ssm:GetParameter`.
    pub action: String,
    /// The request body as text.
    pub body: String,
}

impl Call {
    /// Whether the call changes state.
    pub fn is_write(&self) -> bool {
        let name = self.action.split(':').nth(1).unwrap_or_default();
        !["Describe", "List", "Get"]
            .iter()
            .any(|p| name.starts_with(p))
    }
}

impl Moto {
    async fn recorder(&self, verb: &str) {
        let url = format!("{}/moto-api/recorder/{verb}", self.endpoint());
        let response = reqwest::Client::new()
            .post(&url)
            .send()
            .await
            .expect("moto recorder");
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
    }

    /// Forgets earlier recordings and starts recording requests.
    pub async fn start_recording(&self) {
        self.recorder("reset-recording").await;
        self.recorder("start-recording").await;
    }

    /// Stops recording and returns the requests made since the start.
    pub async fn stop_recording(&self) -> Vec<Call> {
        self.recorder("stop-recording").await;
        let text = reqwest::get(format!(
            "{}/moto-api/recorder/download-recording",
            self.endpoint()
        ))
        .await
        .expect("download recording")
        .text()
        .await
        .unwrap();
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).expect("recording line");
                let method = v["method"].as_str().unwrap_or_default().to_string();
                let url = v["url"].as_str().unwrap_or_default();
                let path = url
                    .splitn(4, '/')
                    .nth(3)
                    .map(|p| format!("/{p}"))
                    .unwrap_or_default();
                let body = match (v["body"].as_str(), v["body_encoded"].as_bool()) {
                    (Some(b), Some(true)) => {
                        use base64::Engine;
                        let bytes = base64::engine::general_purpose::STANDARD
                            .decode(b)
                            .expect("base64 body");
                        String::from_utf8_lossy(&bytes).into_owned()
                    }
                    (Some(b), _) => b.to_string(),
                    _ => String::new(),
                };
                let target = v["headers"].as_object().and_then(|h| {
                    h.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-target"))
                        .and_then(|(_, t)| t.as_str())
                });
                let action = match target.and_then(target_action) {
                    Some(action) => action,
                    None => iam_action(&method, &path, &body),
                };
                Call {
                    method,
                    path,
                    action,
                    body,
                }
            })
            .collect()
    }
}

/// Asserts that the IAM policy `webtier iam-policy` printed (`policy`,
/// JSON) allows the action of every call in `calls`.
pub fn assert_policy_allows(policy: &str, calls: &[Call]) {
    let policy: serde_json::Value = serde_json::from_str(policy).expect("valid JSON");
    let allowed: Vec<&str> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["Action"].as_array().unwrap())
        .map(|a| a.as_str().unwrap())
        .collect();
    for call in calls {
        assert!(
            allowed.contains(&call.action.as_str()),
            "{} was called but is not in the policy {allowed:?}",
            call.action
        );
    }
}

/// The IAM action of a request named by its X-Amz-Target header: ACM's
/// `CertificateManager.<Op>`, SSM's `AmazonSSM.<Op>`.
fn target_action(target: &str) -> Option<String> {
    if let Some(op) = target.strip_prefix("CertificateManager.") {
        return Some(format!("acm:{op}"));
    }
    target
        .strip_prefix("AmazonSSM.")
        .map(|op| format!("ssm:{op}"))
}

/// The IAM action of a recorded request: EC2 names it in the form body,
/// Route 53 in the method and path (ACM in its X-Amz-Target header).
fn iam_action(method: &str, path: &str, body: &str) -> String {
    if let Some(action) = body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        // Elastic Load Balancing v2 speaks the same query protocol, in
        // its own version.
        let service = if body.split('&').any(|kv| kv == "Version=2015-12-01") {
            "elasticloadbalancing"
        } else {
            "ec2"
        };
        return format!("{service}:{action}");
    }
    let path = path.split('?').next().unwrap_or_default();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let name = match (method, parts.as_slice()) {
        ("GET", ["2013-04-01", "hostedzone"]) => "ListHostedZones",
        ("POST", ["2013-04-01", "hostedzone"]) => "CreateHostedZone",
        ("GET", ["2013-04-01", "hostedzone", _]) => "GetHostedZone",
        ("GET", ["2013-04-01", "hostedzone", _, "rrset"]) => "ListResourceRecordSets",
        ("POST", ["2013-04-01", "hostedzone", _, "rrset"]) => "ChangeResourceRecordSets",
        ("GET", ["2013-04-01", "change", _]) => "GetChange",
        _ => return format!("unknown:{method} {path}"),
    };
    format!("route53:{name}")
}

// ---------------------------------------------------------------- pebble

#[derive(Debug, Clone, Copy, Default)]
pub struct PebbleOptions {
    /// Percentage of good nonces rejected as badNonce (pebble's own
    /// default is 5; tests default to 0 for determinism).
    pub nonce_reject_percent: u8,
    /// Skip challenge validation (only for tests not about validation).
    pub always_valid: bool,
    /// Require External Account Binding with a key made for this run
    /// (see `Pebble::eab`).
    pub eab: bool,
    /// The port pebble validates HTTP-01 on (default: a free one).
    pub http01_port: Option<u16>,
}

/// pebble, the ACME test CA, with pebble-challtestsrv as its DNS server
/// (every name resolves to 127.0.0.1; DNS-01 TXT records are set through
/// its management API).
pub struct Pebble {
    /// The ACME server's HTTPS port.
    pub port: u16,
    /// The port pebble connects to on 127.0.0.1 for HTTP-01 validation.
    pub http01_port: u16,
    /// pebble-challtestsrv's management API.
    pub challtestsrv_port: u16,
    /// pebble's management API (`/roots/0`: the root it issues under).
    pub management_port: u16,
    /// The CA that signed pebble's own HTTPS certificate: the extra trust
    /// root an ACME client needs.
    pub ca_pem: PathBuf,
    /// With `PebbleOptions::eab`: the key id and its base64url HMAC key.
    pub eab: Option<(String, String)>,
    pebble: Process,
    #[expect(dead_code, reason = "held until drop: stops pebble-challtestsrv")]
    challtestsrv: Process,
    #[expect(dead_code, reason = "held until drop: removes its working directory")]
    dir: TempDir,
}

impl Pebble {
    pub fn start() -> Pebble {
        Pebble::start_with(PebbleOptions::default())
    }

    pub fn start_with(options: PebbleOptions) -> Pebble {
        let install = "apt-get install -y pebble";
        let pebble_bin = require_bin("pebble", install);
        let challtestsrv_bin = require_bin("pebble-challtestsrv", install);
        let dir = tempdir();
        let (ca_pem, cert, key) = mint_listener_certs(dir.path());

        let dns_port = free_port();
        let challtestsrv_port = free_port();
        let mut challtestsrv = Process::spawn(
            "pebble-challtestsrv",
            Command::new(challtestsrv_bin).args([
                "-defaultIPv4",
                "127.0.0.1",
                "-defaultIPv6",
                "",
                "-dns01",
                &format!("127.0.0.1:{dns_port}"),
                "-management",
                &format!("127.0.0.1:{challtestsrv_port}"),
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
            ]),
            dir.path(),
        );
        challtestsrv.wait_for_port(challtestsrv_port);

        let port = free_port();
        let http01_port = options.http01_port.unwrap_or_else(free_port);
        let management_port = free_port();
        let eab = options.eab.then(|| {
            use base64::Engine;
            let key = rcgen::KeyPair::generate()
                .expect("random bytes")
                .serialize_der();
            let mac =
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&key[key.len() - 32..]);
            ("kid-webtier-test".to_string(), mac)
        });
        let mac_keys: serde_json::Map<String, serde_json::Value> = eab
            .iter()
            .map(|(kid, key)| (kid.clone(), serde_json::Value::from(key.clone())))
            .collect();
        let config = serde_json::json!({
            "pebble": {
                "listenAddress": format!("127.0.0.1:{port}"),
                "managementListenAddress": format!("127.0.0.1:{management_port}"),
                "certificate": cert,
                "privateKey": key,
                "httpPort": http01_port,
                "tlsPort": free_port(),
                "ocspResponderURL": "",
                "externalAccountBindingRequired": eab.is_some(),
                "externalAccountMACKeys": mac_keys,
            }
        });
        let config_path = dir.path().join("pebble-config.json");
        fs::write(&config_path, config.to_string()).expect("pebble config");
        let mut pebble = Process::spawn(
            "pebble",
            Command::new(pebble_bin)
                .arg("-config")
                .arg(&config_path)
                .arg("-dnsserver")
                .arg(format!("127.0.0.1:{dns_port}"))
                .env("PEBBLE_VA_NOSLEEP", "1")
                .env(
                    "PEBBLE_WFE_NONCEREJECT",
                    options.nonce_reject_percent.to_string(),
                )
                .env(
                    "PEBBLE_VA_ALWAYS_VALID",
                    if options.always_valid { "1" } else { "0" },
                )
                .current_dir(dir.path()),
            dir.path(),
        );
        pebble.wait_for_port(port);
        Pebble {
            port,
            http01_port,
            challtestsrv_port,
            management_port,
            ca_pem,
            eab,
            pebble,
            challtestsrv,
            dir,
        }
    }

    pub fn directory_url(&self) -> String {
        format!("https://127.0.0.1:{}/dir", self.port)
    }

    /// How many challenge validations pebble has attempted so far (its
    /// log line for each).
    pub fn validations(&self) -> usize {
        self.pebble
            .log_text()
            .matches("Attempting to validate w/")
            .count()
    }
}

/// A throw-away CA and a certificate for localhost/127.0.0.1 signed by it,
/// for pebble's own HTTPS listener (the package ships none).
fn mint_listener_certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "webtier test CA for pebble");
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);

    let key = KeyPair::generate().expect("server key");
    let params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("server params");
    let cert = params.signed_by(&key, &issuer).expect("server certificate");

    let paths = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    fs::write(&paths.0, ca_cert.pem()).unwrap();
    fs::write(&paths.1, cert.pem()).unwrap();
    fs::write(&paths.2, key.serialize_pem()).unwrap();
    fs::set_permissions(&paths.2, fs::Permissions::from_mode(0o600)).unwrap();
    paths
}

// ---------------------------------------------------------------- nginx

/// nginx in the foreground with a configuration of the test's own.
pub struct Nginx {
    pub port: u16,
    pub dir: TempDir,
    #[expect(dead_code, reason = "held until drop: stops nginx")]
    process: Process,
}

impl Nginx {
    /// Starts nginx with one `server` whose body (directives after
    /// `listen`) is `server_body`.
    pub fn start(server_body: &str) -> Nginx {
        let bin = require_bin("nginx", "apt-get install -y nginx");
        let dir = tempdir();
        // Worker processes may run as an unprivileged user.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let d = dir.path().display();
        let port = free_port();
        let conf = format!(
            "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  \
             proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  \
             scgi_temp_path {d}/scgi;\n  default_type application/octet-stream;\n  \
             server {{\n    listen 127.0.0.1:{port};\n    {server_body}\n  }}\n}}\n"
        );
        let conf_path = dir.path().join("nginx.conf");
        fs::write(&conf_path, conf).unwrap();
        let mut process = Process::spawn(
            "nginx",
            Command::new(bin)
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&conf_path),
            dir.path(),
        );
        process.wait_for_port(port);
        Nginx { port, dir, process }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

// ---------------------------------------------------------------- uvicorn

/// The FastAPI test app (tests/apps/app.py) under uvicorn.
pub struct Uvicorn {
    pub port: u16,
    process: Process,
    #[expect(dead_code, reason = "held until drop: removes its working directory")]
    dir: TempDir,
}

impl Uvicorn {
    /// Starts the app; it reports `name` in its responses.
    pub fn start(name: &str) -> Uvicorn {
        Uvicorn::start_on(name, free_port())
    }

    /// Starts the app on `port` of 127.0.0.1.
    pub fn start_on(name: &str, port: u16) -> Uvicorn {
        let bin = require_venv_bin("uvicorn");
        let dir = tempdir();
        let mut process = Process::spawn(
            "uvicorn",
            Command::new(bin)
                .args([
                    "app:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    &port.to_string(),
                ])
                .arg("--app-dir")
                .arg(repo().join("tests/apps"))
                .arg("--no-access-log")
                .env("WEBTIER_TEST_APP_NAME", name),
            dir.path(),
        );
        process.wait_for_port(port);
        Uvicorn { port, process, dir }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Stops the app (connections to its port are refused afterwards).
    pub fn kill(&mut self) {
        self.process.kill();
    }
}
