//! Logs and metrics as an operator sees them: the real binary's JSON log lines carry the
//! request id the client got back, and the Grafana dashboard in `docs/` asks only for
//! metric families `/metrics` exports.

use crate::helpers::*;
use serde_json::Value;
use std::io::Read;
use std::process::{Command, Stdio};

#[tokio::test]
async fn json_log_lines_within_a_request_carry_its_request_id() {
    let app = spawn_app().await; // creates and migrates the database
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_suiji"))
        .arg("serve")
        .env("DATABASE_URL", &app.database_url)
        .env("SUIJI_JWT_SECRET", SECRET)
        .env("SUIJI_BIND", format!("127.0.0.1:{port}"))
        .env("SUIJI_LOG_FORMAT", "json")
        .env_remove("SUIJI_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..300 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(up, "suiji serve did not start");
    let r = client
        .post(format!("{base}/api/v1/institutions"))
        .bearer_auth(app.admin())
        .json(&institution_body(1, "retail_pharmacy", "150602"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let request_id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(!request_id.is_empty());
    let _ = child.kill();
    child.wait().unwrap();
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let registered: Vec<&Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "institution registered")
        .collect();
    assert_eq!(registered.len(), 1, "{log}");
    assert_eq!(
        registered[0]["span"]["request_id"], request_id,
        "the line logged inside the request names its request id: {log}"
    );
    assert_eq!(registered[0]["span"]["path"], "/api/v1/institutions");
}

/// Every `suiji_*` name the dashboard queries is a family `/metrics` declares (a
/// histogram's `_bucket`, `_sum` and `_count` belong to their family).
#[tokio::test]
async fn the_grafana_dashboard_queries_only_exported_metrics() {
    let app = spawn_app().await;
    app.get("/api/v1/institutions", &app.admin())
        .await
        .expect(200);
    let metrics = app
        .send(reqwest::Method::GET, "/metrics", None, None, &[])
        .await;
    assert_eq!(metrics.status.as_u16(), 200);
    let families: Vec<&str> = metrics
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/grafana-dashboard.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let mut exprs = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap_or(&Vec::new()) {
            exprs.push(target["expr"].as_str().unwrap().to_string());
        }
    }
    assert!(exprs.len() >= 6, "{exprs:?}");
    let mut asked = 0;
    for expr in &exprs {
        let mut rest = expr.as_str();
        while let Some(at) = rest.find("suiji_") {
            let name: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|f| families.contains(f)))
                .unwrap_or(&name);
            assert!(
                families.contains(&family),
                "{name} (in `{expr}`) is not exported; /metrics has {families:?}"
            );
            asked += 1;
            rest = &rest[at + name.len()..];
        }
    }
    assert!(asked >= exprs.len());
}
