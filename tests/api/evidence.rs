//! Evidence attached to results (issue 12, #6): upload, list, download by its readers,
//! 403 for others, nothing on any public route; size and type errors.

use crate::helpers::*;
use reqwest::Method;
use serde_json::Value;
use sha2::{Digest, Sha256};

const LIMIT: usize = 4 * 1024 * 1024;

fn jpeg(len: usize) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0];
    b.resize(len, 0x42);
    b
}

fn pdf() -> Vec<u8> {
    "%PDF-1.4\n% 双随机实地核查表 signed\n%%EOF\n"
        .as_bytes()
        .to_vec()
}

fn path(id: &str, inst: &str) -> String {
    format!("/api/v1/tasks/{id}/results/{inst}/evidence")
}

async fn get_raw(app: &TestApp, path: &str, token: Option<&str>) -> (u16, String, Vec<u8>) {
    let mut req = app.client.get(format!("{}{path}", app.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, ct, r.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn evidence_is_stored_listed_downloaded_by_its_readers_and_never_public() {
    let app = spawn_app_with(|c| c.evidence_limit = LIMIT).await;
    let s = Scenario::seed003(&app).await.drawn().await;
    let id = s.id.clone();
    let inst = s.institutions()[0].clone();
    let other_inst = s.institutions()[1].clone();

    // A participating department's coordinator attaches a photo larger than the JSON
    // body limit (2 MiB) but within the evidence limit.
    let photo = jpeg(3 * 1024 * 1024);
    let photo_sha = hex::encode(Sha256::digest(&photo));
    let r = app
        .upload(
            &format!(
                "{}?filename=%E7%8E%B0%E5%9C%BA%E7%85%A7%E7%89%87%201.jpg",
                path(&id, &inst)
            ),
            &app.coordinator(HEALTH),
            "image/jpeg",
            photo.clone(),
        )
        .await
        .expect(201);
    assert_eq!(r.body["sha256"], photo_sha.as_str());
    assert_eq!(r.body["size"], photo.len() as u64);
    assert_eq!(r.body["media_type"], "image/jpeg");
    assert_eq!(r.body["filename"], "现场照片 1.jpg");
    assert_eq!(r.body["uploaded_by"], "coord-health");
    let audit_before = app.audit_len().await;

    // The same bytes again on the same result: one reference, nothing changes.
    let again = app
        .upload(
            &path(&id, &inst),
            &app.coordinator(MI),
            "image/jpeg",
            photo.clone(),
        )
        .await
        .expect(200);
    assert_eq!(again.body["sha256"], photo_sha.as_str());
    assert_eq!(again.body["filename"], "现场照片 1.jpg");
    assert_eq!(app.audit_len().await, audit_before);

    // The lead attaches the signed form; the same photo on another result is another
    // reference to the one stored copy.
    let form = pdf();
    let form_sha = hex::encode(Sha256::digest(&form));
    app.upload(
        &path(&id, &inst),
        &app.coordinator(MI),
        "application/pdf",
        form.clone(),
    )
    .await
    .expect(201);
    app.upload(
        &path(&id, &other_inst),
        &app.admin(),
        "image/jpeg",
        photo.clone(),
    )
    .await
    .expect(201);

    // Listed for its readers, in the result view too.
    let list = app.get(&path(&id, &inst), &app.auditor()).await.expect(200);
    let shas: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["sha256"].as_str().unwrap())
        .collect();
    assert_eq!(shas, vec![photo_sha.as_str(), form_sha.as_str()]);
    let results = app
        .get(&format!("/api/v1/tasks/{id}/results"), &app.coordinator(MR))
        .await
        .expect(200);
    assert_eq!(results.body["items"], Value::Array(vec![]), "no result yet");

    // Downloads: the right bytes, type and name for every reader.
    for token in [app.auditor(), app.admin(), app.coordinator(MR)] {
        let (headers, bytes) = app
            .download(&format!("{}/{photo_sha}", path(&id, &inst)), &token)
            .await;
        assert_eq!(bytes, photo);
        assert_eq!(headers["content-type"], "image/jpeg");
        let cd = headers["content-disposition"].to_str().unwrap();
        assert!(cd.starts_with("attachment;"), "{cd}");
        assert!(
            cd.contains("filename*=UTF-8''%E7%8E%B0%E5%9C%BA%E7%85%A7%E7%89%87%201.jpg"),
            "{cd}"
        );
    }
    let (headers, bytes) = app
        .download(&format!("{}/{form_sha}", path(&id, &inst)), &app.auditor())
        .await;
    assert_eq!(bytes, form);
    assert_eq!(headers["content-type"], "application/pdf");

    // Another (registered) department's coordinator: 403 on every evidence route.
    app.post(
        "/api/v1/departments",
        &app.admin(),
        serde_json::json!({"code": "tax", "name_zh": "税务局", "name_en": "Tax Bureau"}),
    )
    .await
    .expect(201);
    let outsider = app.coordinator("tax");
    let r = app.get(&path(&id, &inst), &outsider).await.expect(403);
    assert!(
        r.body["detail"].as_str().unwrap().contains("takes no part"),
        "{}",
        r.text
    );
    app.get(&format!("{}/{photo_sha}", path(&id, &inst)), &outsider)
        .await
        .expect(403);
    app.upload(&path(&id, &inst), &outsider, "image/jpeg", jpeg(100))
        .await
        .expect(403);
    app.upload(&path(&id, &inst), &app.auditor(), "image/jpeg", jpeg(100))
        .await
        .expect(403);
    let (status, _, _) = get_raw(&app, &format!("{}/{photo_sha}", path(&id, &inst)), None).await;
    assert_eq!(status, 401);
    // Unknown evidence, institution not drawn.
    app.get(
        &format!("{}/{}", path(&id, &inst), "0".repeat(64)),
        &app.auditor(),
    )
    .await
    .expect(404);
    app.get(&format!("{}/nothex", path(&id, &inst)), &app.auditor())
        .await
        .expect_problem_field(422, "sha256");
    let undrawn = s
        .county
        .hospitals
        .iter()
        .chain(s.county.pharmacies.iter())
        .find(|i| !s.institutions().contains(i))
        .unwrap()
        .clone();
    app.upload(
        &path(&id, &undrawn),
        &app.coordinator(MI),
        "image/jpeg",
        jpeg(100),
    )
    .await
    .expect(404);

    // The audit log names the evidence by its SHA-256.
    let audit = app
        .get("/api/v1/audit-log?action=evidence.attach", &app.auditor())
        .await
        .expect(200);
    let digests: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["payload_sha256"].as_str().unwrap())
        .collect();
    assert_eq!(
        digests,
        vec![photo_sha.as_str(), form_sha.as_str(), photo_sha.as_str()]
    );

    // Published and closed: nothing about the evidence on any public route.
    let s = s.with_results().await;
    let results = app
        .get(&format!("/api/v1/tasks/{id}/results"), &app.coordinator(MR))
        .await
        .expect(200);
    let first = results.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["institution"] == inst.as_str())
        .unwrap();
    assert_eq!(first["evidence"].as_array().unwrap().len(), 2);
    let hidden = app
        .get(&format!("/api/v1/tasks/{id}/results"), &outsider)
        .await
        .expect(200);
    assert!(!hidden.text.contains(&photo_sha), "{}", hidden.text);
    for public in [
        format!("/public/v1/tasks/{id}"),
        format!("/public/v1/tasks/{id}/bundle"),
        format!("/public/v1/institutions/{inst}/history"),
        "/public/v1/results.csv".to_string(),
        "/public/v1/feed.atom".to_string(),
        format!("/tasks/{id}"),
        "/".to_string(),
    ] {
        let (status, _, body) = get_raw(&app, &public, None).await;
        assert_eq!(status, 200, "{public}");
        let text = String::from_utf8_lossy(&body);
        for needle in [photo_sha.as_str(), form_sha.as_str(), "现场照片"] {
            assert!(!text.contains(needle), "{public} shows {needle}");
        }
    }
    let bundle = String::from_utf8(bundle(&app, &id).await).unwrap();
    assert!(!bundle.contains(&photo_sha));
    drop(s);
}

#[tokio::test]
async fn evidence_size_and_type_are_checked_and_refusals_change_nothing() {
    let app = spawn_app_with(|c| c.evidence_limit = LIMIT).await;
    let s = Scenario::seed003(&app).await.drawn().await;
    let p = path(&s.id, &s.institutions()[0]);
    let lead = app.coordinator(MI);
    let before = app.audit_len().await;

    let r = app
        .upload(&p, &lead, "image/jpeg", jpeg(LIMIT + 1))
        .await
        .expect(413);
    assert_eq!(r.header("content-type"), "application/problem+json");
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains(&LIMIT.to_string()),
        "{}",
        r.text
    );

    let r = app
        .upload(&p, &lead, "image/gif", b"GIF89a....".to_vec())
        .await
        .expect(415);
    assert_eq!(r.header("content-type"), "application/problem+json");
    assert!(
        r.body["detail"].as_str().unwrap().contains("image/gif"),
        "{}",
        r.text
    );

    app.upload(&p, &lead, "image/png", jpeg(100))
        .await
        .expect_problem_field(422, "content-type");
    app.upload(&p, &lead, "application/pdf", b"hello".to_vec())
        .await
        .expect_problem_field(422, "body");
    app.upload(&p, &lead, "image/jpeg", Vec::new())
        .await
        .expect_problem_field(422, "body");
    app.upload(
        &format!("{p}?filename=..%2Fx.jpg"),
        &lead,
        "image/jpeg",
        jpeg(100),
    )
    .await
    .expect_problem_field(422, "filename");

    assert_eq!(app.audit_len().await, before);
    let list = app.get(&p, &app.auditor()).await.expect(200);
    assert_eq!(list.body["items"], Value::Array(vec![]));

    // Not before the draw: a sealed task has no drawn institutions yet.
    let app2 = spawn_app().await;
    let s2 = Scenario::seed003(&app2).await.sealed().await;
    let inst = s2.county.hospitals[0].clone();
    let r = app2
        .send(
            Method::POST,
            &path(&s2.id, &inst),
            Some(&app2.coordinator(MI)),
            None,
            &[("content-type", "image/jpeg")],
        )
        .await;
    assert_eq!(r.status.as_u16(), 409, "{}", r.text);
}
