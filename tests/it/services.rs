//! The real services the test suite relies on are reachable by the real
//! clients webtier uses: the AWS SDK against moto_server, instant-acme
//! against pebble, and plain HTTP against nginx and the uvicorn app.

use crate::support::services::{Moto, Nginx, Pebble, Uvicorn};

#[tokio::test]
async fn aws_sdk_reaches_moto() {
    let moto = Moto::start();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.20.0.0/16")
        .send()
        .await
        .expect("CreateVpc")
        .vpc
        .unwrap();
    let group = ec2
        .create_security_group()
        .group_name("webtier-smoke")
        .description("smoke test")
        .vpc_id(vpc.vpc_id().unwrap())
        .send()
        .await
        .expect("CreateSecurityGroup");
    let found = ec2
        .describe_security_groups()
        .group_ids(group.group_id().unwrap())
        .send()
        .await
        .expect("DescribeSecurityGroups");
    let groups = found.security_groups();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].group_name(), Some("webtier-smoke"));
    assert_eq!(groups[0].vpc_id(), vpc.vpc_id());
}

#[tokio::test]
async fn instant_acme_creates_an_account_on_pebble() {
    use instant_acme::{Account, NewAccount};

    let pebble = Pebble::start();
    let contact = ["mailto:ops@example.com"];
    let (account, credentials) = Account::builder_with_root(&pebble.ca_pem)
        .expect("pebble CA loads")
        .create(
            &NewAccount {
                contact: &contact,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            pebble.directory_url(),
            None,
        )
        .await
        .expect("account created on pebble over verified HTTPS");
    assert!(
        account
            .id()
            .starts_with(&format!("https://127.0.0.1:{}/", pebble.port))
    );

    // The stored credentials restore the same account.
    let json = serde_json::to_string(&credentials).unwrap();
    let restored = Account::builder_with_root(&pebble.ca_pem)
        .unwrap()
        .from_credentials(serde_json::from_str(&json).unwrap())
        .await
        .expect("account restored from credentials");
    assert_eq!(restored.id(), account.id());
}

#[tokio::test]
async fn acme_client_refuses_pebble_without_its_ca() {
    use instant_acme::{Account, NewAccount};

    let pebble = Pebble::start();
    let result = Account::builder()
        .expect("default roots")
        .create(
            &NewAccount {
                contact: &[],
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            pebble.directory_url(),
            None,
        )
        .await;
    assert!(result.is_err(), "TLS verification must not be skipped");
}

#[tokio::test]
async fn nginx_serves_a_static_file() {
    let nginx = Nginx::start("root html;");
    std::fs::create_dir_all(nginx.dir.path().join("html")).unwrap();
    std::fs::write(
        nginx.dir.path().join("html/hello.txt"),
        "hello from nginx\n",
    )
    .unwrap();
    let response = reqwest::get(nginx.url("/hello.txt")).await.expect("GET");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["server"]
            .to_str()
            .unwrap()
            .starts_with("nginx")
    );
    assert_eq!(response.text().await.unwrap(), "hello from nginx\n");
}

#[tokio::test]
async fn uvicorn_serves_the_fastapi_app() {
    let app = Uvicorn::start("app-a");
    let health: serde_json::Value = reqwest::get(app.url("/health"))
        .await
        .expect("GET /health")
        .json()
        .await
        .unwrap();
    assert_eq!(health, serde_json::json!({"status": "ok", "app": "app-a"}));

    let echo: serde_json::Value = reqwest::Client::new()
        .post(app.url("/echo/a/b?x=1"))
        .header("x-test", "yes")
        .body("12345")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/echo/a/b");
    assert_eq!(echo["query"], "x=1");
    assert_eq!(echo["headers"]["x-test"], "yes");
    assert_eq!(echo["body_length"], 5);
}
