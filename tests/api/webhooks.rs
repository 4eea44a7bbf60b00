//! Webhooks (issue 12, #7): delivered to a receiver started here, signature verified,
//! retried after a failure, every attempt in the delivery log.

use crate::helpers::*;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use hmac::{KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

type Seen = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A receiver on 127.0.0.1:0 that answers 500 to the first request and 200 after.
async fn receiver() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                |axum::extract::State(seen): axum::extract::State<Seen>,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    let mut s = seen.lock().unwrap();
                    s.push((headers, body));
                    if s.len() == 1 {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    }
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

/// The signature a receiver computes: HMAC-SHA256 of "<timestamp>.<body>".
fn expected_signature(secret: &str, headers: &HeaderMap, body: &[u8]) -> String {
    let ts = headers["x-suiji-timestamp"].to_str().unwrap();
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn verify(secret: &str, headers: &HeaderMap, body: &[u8]) {
    assert_eq!(
        headers["x-suiji-signature"].to_str().unwrap(),
        expected_signature(secret, headers, body)
    );
}

/// Waits (a bounded number of polls, no timing asserted) until `done` holds.
async fn eventually(mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..300 {
        if done().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the condition did not hold after 300 polls");
}

#[tokio::test]
async fn webhooks_are_signed_retried_and_logged() {
    let app = spawn_app_with(|c| c.webhook_retry = std::time::Duration::from_millis(200)).await;
    let (url, seen) = receiver().await;

    // Who may subscribe, and what is refused.
    app.post(
        "/api/v1/webhooks",
        &app.coordinator(HEALTH),
        json!({"url": url, "events": ["seal"], "department": MI}),
    )
    .await
    .expect(403);
    app.post(
        "/api/v1/webhooks",
        &app.auditor(),
        json!({"url": url, "events": ["seal"]}),
    )
    .await
    .expect(403);
    app.post(
        "/api/v1/webhooks",
        &app.admin(),
        json!({"url": url, "events": ["sealed"]}),
    )
    .await
    .expect_problem_field(422, "events[0]");
    app.post(
        "/api/v1/webhooks",
        &app.admin(),
        json!({"url": "ftp://example.org/x", "events": ["seal"]}),
    )
    .await
    .expect_problem_field(422, "url");
    app.post(
        "/api/v1/webhooks",
        &app.admin(),
        json!({"url": url, "events": ["seal"], "secret": "short"}),
    )
    .await
    .expect_problem_field(422, "secret");

    // The lead department's coordinator subscribes; the secret is shown once.
    let hook = app
        .post(
            "/api/v1/webhooks",
            &app.coordinator(MI),
            json!({"url": url, "events": ["seal", "replacement"]}),
        )
        .await
        .expect(201);
    let id = hook.body["id"].as_str().unwrap().to_string();
    let secret = hook.body["secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 64);
    assert_eq!(hook.body["department"], MI);
    let list = app.get("/api/v1/webhooks", &app.admin()).await.expect(200);
    assert_eq!(list.body["items"][0]["id"], id.as_str());
    assert!(list.body["items"][0].get("secret").is_none());
    assert!(!list.text.contains(&secret));
    let theirs = app
        .get("/api/v1/webhooks", &app.coordinator(HEALTH))
        .await
        .expect(200);
    assert_eq!(theirs.body["items"], json!([]));

    // The seal: one delivery, written with the event; the receiver fails the first
    // attempt, the retry succeeds.
    let s = Scenario::seed003(&app).await.sealed().await;
    let deliveries = format!("/api/v1/webhooks/{id}/deliveries");
    let now = app.get(&deliveries, &app.auditor()).await.expect(200);
    assert_eq!(
        now.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        now.text
    );
    assert_eq!(now.body["items"][0]["event"], "seal");
    eventually(async || {
        let r = app.get(&deliveries, &app.coordinator(MI)).await.expect(200);
        r.body["items"][0]["state"] == "delivered"
    })
    .await;
    let r = app.get(&deliveries, &app.coordinator(MI)).await.expect(200);
    let d = &r.body["items"][0];
    assert_eq!(d["attempts"], 2);
    let log = d["log"].as_array().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["status_code"], 500);
    assert!(log[0]["error"].as_str().unwrap().contains("500"));
    assert_eq!(log[1]["status_code"], 200);
    assert_eq!(log[1]["error"], Value::Null);

    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    for (headers, body) in &got {
        verify(&secret, headers, body);
        let v: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["event"], "seal");
        assert_eq!(v["task_id"], s.id.as_str());
        assert_eq!(v["delivery_id"], d["id"]);
        assert!(v["occurred_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(headers["x-suiji-event"], "seal");
    }
    assert_eq!(got[0].1, got[1].1, "every attempt sends the same body");
    // A forged signature does not verify.
    let (headers, body) = &got[1];
    let mut tampered = body.to_vec();
    tampered.push(b' ');
    assert_ne!(
        headers["x-suiji-signature"].to_str().unwrap(),
        expected_signature(&secret, headers, &tampered)
    );
    assert_ne!(
        headers["x-suiji-signature"].to_str().unwrap(),
        expected_signature("another secret of 32 characters!", headers, body)
    );

    // The draw is not subscribed: no delivery. Others may not delete; the lead may.
    let s = s.drawn().await;
    let r = app.get(&deliveries, &app.auditor()).await.expect(200);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    app.send(
        Method::DELETE,
        &format!("/api/v1/webhooks/{id}"),
        Some(&app.coordinator(HEALTH)),
        None,
        &[],
    )
    .await
    .expect(403);
    app.get(&deliveries, &app.coordinator(HEALTH))
        .await
        .expect(403);
    app.send(
        Method::DELETE,
        &format!("/api/v1/webhooks/{id}"),
        Some(&app.coordinator(MI)),
        None,
        &[],
    )
    .await
    .expect(204);
    let audit = app
        .get("/api/v1/audit-log?action=webhook.delete", &app.auditor())
        .await
        .expect(200);
    assert_eq!(audit.body["items"][0]["object_id"], id.as_str());
    // Deleted: a replacement raises nothing, the log stays readable.
    let first = s.task["selections"][0].clone();
    app.post(
        &format!("/api/v1/tasks/{}/replacements", s.id),
        &app.coordinator(MI),
        json!({"institution": first["institution"], "department": MI,
               "out": first["leader"], "reason": "回避"}),
    )
    .await
    .expect(201);
    let r = app.get(&deliveries, &app.auditor()).await.expect(200);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    let list = app.get("/api/v1/webhooks", &app.admin()).await.expect(200);
    assert_eq!(list.body["items"], json!([]));
}
