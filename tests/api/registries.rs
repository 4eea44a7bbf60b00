use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};
use suiji::auth::Role;

fn hospital(code: &str) -> Value {
    json!({
        "credit_code": code, "name": "鄂托克旗人民医院", "kind": "designated_hospital",
        "level": "secondary", "ownership": "public", "region": "150624",
        "address": "乌兰镇", "risk_grade": "B", "tags": ["医共体"]
    })
}

#[tokio::test]
async fn credit_codes_are_checked_and_unique() {
    let app = spawn_app().await;
    let admin = app.admin();
    let r = app
        .post(
            "/api/v1/institutions",
            &admin,
            hospital("91350100M000100Y4Z"),
        )
        .await
        .expect_problem_field(422, "credit_code");
    assert_eq!(r.body["type"], "urn:suiji:problem:validation");
    let r = app
        .post(
            "/api/v1/institutions",
            &admin,
            hospital("91350100M000100Y43"),
        )
        .await
        .expect(201);
    assert_eq!(r.header("etag"), "\"1\"");
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(r.header("location"), format!("/api/v1/institutions/{id}"));
    let r = app
        .post(
            "/api/v1/institutions",
            &admin,
            hospital("91350100M000100Y43"),
        )
        .await
        .expect(409);
    assert!(r.body["detail"].as_str().unwrap().contains("credit_code"));
    // Lower case is normalized, so it is the same code and still a duplicate.
    app.post(
        "/api/v1/institutions",
        &admin,
        hospital("91350100m000100y43"),
    )
    .await
    .expect(409);
    let list = app.get("/api/v1/institutions", &admin).await.expect(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn roles_and_tokens_are_enforced() {
    let app = spawn_app().await;
    // No token, garbage token, expired token, token from another secret: 401.
    let r = app
        .send(Method::GET, "/api/v1/institutions", None, None, &[])
        .await
        .expect(401);
    assert!(r.header("www-authenticate").starts_with("Bearer"));
    app.get("/api/v1/institutions", "not.a.token")
        .await
        .expect(401);
    let other = suiji::auth::Authenticator::new(b"some other secret of 32 bytes....")
        .mint("x", Role::Admin, None, std::time::Duration::from_secs(60))
        .unwrap();
    app.get("/api/v1/institutions", &other).await.expect(401);
    let r = app
        .send(
            Method::GET,
            "/api/v1/institutions",
            None,
            None,
            &[("authorization", "Basic abc")],
        )
        .await
        .expect(401);
    assert_eq!(r.headers["content-type"], "application/problem+json");

    // A health coordinator cannot register a market regulation inspector.
    let health = app.coordinator("health");
    app.post(
        "/api/v1/inspectors",
        &health,
        inspector_body("market_regulation", "SC-0001", "150602"),
    )
    .await
    .expect(403);
    app.post(
        "/api/v1/inspectors",
        &health,
        inspector_body("health", "WJ-0001", "150602"),
    )
    .await
    .expect(201);
    // An auditor reads but never writes.
    let auditor = app.auditor();
    app.get("/api/v1/inspectors", &auditor).await.expect(200);
    app.post(
        "/api/v1/institutions",
        &auditor,
        hospital("91350100M000100Y43"),
    )
    .await
    .expect(403);
    app.post(
        "/api/v1/inspectors",
        &auditor,
        inspector_body("health", "WJ-0002", "150602"),
    )
    .await
    .expect(403);
    // Coordinators write institutions, and cannot add departments.
    app.post(
        "/api/v1/institutions",
        &health,
        hospital("91350100M000100Y43"),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/departments",
        &health,
        json!({"code": "tax", "name_zh": "税务局", "name_en": "Tax Bureau"}),
    )
    .await
    .expect(403);
}

#[tokio::test]
async fn malformed_requests_get_problems_and_change_nothing() {
    let app = spawn_app().await;
    let admin = app.admin();
    let before = app.audit_len().await;
    let mut body = hospital("91350100M000100Y43");
    body["kind"] = json!("hospital");
    app.post("/api/v1/institutions", &admin, body)
        .await
        .expect_problem_field(422, "kind");
    let mut body = hospital("91350100M000100Y43");
    body["colour"] = json!("red");
    app.post("/api/v1/institutions", &admin, body)
        .await
        .expect_problem_field(422, "colour");
    let mut body = hospital("91350100M000100Y43");
    body["region"] = json!("1506");
    app.post("/api/v1/institutions", &admin, body)
        .await
        .expect_problem_field(422, "region");
    let mut body = hospital("91350100M000100Y43");
    body["name"] = json!("  ");
    body["tags"] = json!(["a", "a"]);
    let r = app
        .post("/api/v1/institutions", &admin, body)
        .await
        .expect_problem_field(422, "name");
    assert_eq!(r.body["errors"].as_array().unwrap().len(), 2, "{}", r.text);
    let mut body = hospital("91350100M000100Y43");
    body.as_object_mut().unwrap().remove("risk_grade");
    app.post("/api/v1/institutions", &admin, body)
        .await
        .expect(422);
    // Malformed JSON, wrong content type, oversized body.
    let r = app
        .client
        .post(format!("{}/api/v1/institutions", app.base))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"credit_code\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let r = app
        .client
        .post(format!("{}/api/v1/institutions", app.base))
        .bearer_auth(&admin)
        .header("content-type", "text/plain")
        .body(hospital("91350100M000100Y43").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let huge = json!({"name": "x".repeat(3 * 1024 * 1024)});
    app.post("/api/v1/institutions", &admin, huge)
        .await
        .expect(413);
    // Bad filters.
    app.get("/api/v1/institutions?kind=castle", &admin)
        .await
        .expect_problem_field(422, "kind");
    app.get("/api/v1/institutions?limit=0", &admin)
        .await
        .expect_problem_field(422, "limit");
    app.get("/api/v1/institutions?limit=abc", &admin)
        .await
        .expect_problem_field(422, "limit");
    app.get("/api/v1/institutions?color=red", &admin)
        .await
        .expect_problem_field(422, "color");
    app.get("/api/v1/institutions?cursor=zzz", &admin)
        .await
        .expect_problem_field(422, "cursor");
    app.get("/api/v1/institutions?region_prefix=1", &admin)
        .await
        .expect_problem_field(422, "region_prefix");
    // Nothing was written by any of it.
    assert_eq!(app.audit_len().await, before);
    let list = app.get("/api/v1/institutions", &admin).await.expect(200);
    assert_eq!(list.body["items"], json!([]));
}

#[tokio::test]
async fn updates_need_the_current_version_and_keep_history() {
    let app = spawn_app().await;
    let admin = app.admin();
    let id = app.institution(hospital("91350100M000100Y43")).await;
    let path = format!("/api/v1/institutions/{id}");
    let mut changed = hospital("91350100M000100Y43");
    changed["risk_grade"] = json!("D");
    // No If-Match: 428; a stale one: 412; garbage: 422.
    app.send(Method::PUT, &path, Some(&admin), Some(&changed), &[])
        .await
        .expect(428);
    app.put(&path, &admin, 7, changed.clone()).await.expect(412);
    app.send(
        Method::PUT,
        &path,
        Some(&admin),
        Some(&changed),
        &[("if-match", "abc")],
    )
    .await
    .expect_problem_field(422, "If-Match");
    let r = app.put(&path, &admin, 1, changed.clone()).await.expect(200);
    assert_eq!(r.body["version"], 2);
    assert_eq!(r.body["risk_grade"], "D");
    assert_eq!(r.header("etag"), "\"2\"");
    // The same document again writes nothing.
    let r = app.put(&path, &admin, 2, changed.clone()).await.expect(200);
    assert_eq!(r.body["version"], 2);
    // Version 1 is now stale.
    app.put(&path, &admin, 1, hospital("91350100M000100Y43"))
        .await
        .expect(412);
    // Deactivate (never delete).
    let mut closed = changed.clone();
    closed["status"] = json!("closed");
    app.put(&path, &admin, 2, closed).await.expect(200);
    let h = app
        .get(&format!("{path}/history"), &admin)
        .await
        .expect(200);
    let versions: Vec<i64> = h.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, vec![1, 2, 3]);
    assert_eq!(h.body["items"][0]["data"]["risk_grade"], "B");
    assert_eq!(h.body["items"][2]["data"]["status"], "closed");
    let r = app.get(&path, &admin).await.expect(200);
    assert_eq!(r.header("etag"), "\"3\"");
    app.get("/api/v1/institutions/nope", &admin)
        .await
        .expect(404);
    app.put("/api/v1/institutions/nope", &admin, 1, changed)
        .await
        .expect(404);
    // Changing the credit code to another institution's is a conflict.
    let other = app.institution(hospital("914403001922038216")).await;
    app.put(
        &format!("/api/v1/institutions/{other}"),
        &admin,
        1,
        hospital("91350100M000100Y43"),
    )
    .await
    .expect(409);
}

#[tokio::test]
async fn filters_and_cursor_pagination() {
    let app = spawn_app().await;
    let admin = app.admin();
    for n in 0..7 {
        let kind = if n < 2 {
            "designated_hospital"
        } else {
            "retail_pharmacy"
        };
        let region = if n % 2 == 0 { "150602" } else { "150624" };
        let mut body = institution_body(n, kind, region);
        if n == 3 {
            body["tags"] = json!(["连锁"]);
            body["name"] = json!("康宁大药房");
        }
        app.institution(body).await;
    }
    let count = |r: &Reply| r.body["items"].as_array().unwrap().len();
    let r = app
        .get("/api/v1/institutions?kind=designated_hospital", &admin)
        .await
        .expect(200);
    assert_eq!(count(&r), 2);
    let r = app
        .get(
            "/api/v1/institutions?kind=retail_pharmacy&region_prefix=150624",
            &admin,
        )
        .await
        .expect(200);
    assert_eq!(count(&r), 2);
    let r = app
        .get("/api/v1/institutions?region_prefix=1506", &admin)
        .await
        .expect(200);
    assert_eq!(count(&r), 7);
    let r = app
        .get("/api/v1/institutions?region_prefix=11", &admin)
        .await
        .expect(200);
    assert_eq!(count(&r), 0);
    let r = app
        .get("/api/v1/institutions?tags=%E8%BF%9E%E9%94%81", &admin)
        .await
        .expect(200);
    assert_eq!(count(&r), 1);
    let r = app
        .get("/api/v1/institutions?q=%E5%A4%A7%E8%8D%AF", &admin)
        .await
        .expect(200);
    assert_eq!(r.body["items"][0]["name"], "康宁大药房");
    let r = app
        .get("/api/v1/institutions?q=%25", &admin)
        .await
        .expect(200);
    assert_eq!(count(&r), 0, "% is a literal in name search");
    // Walk all pages of 3.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/institutions?limit=3&cursor={c}"),
            None => "/api/v1/institutions?limit=3".to_string(),
        };
        let r = app.get(&path, &admin).await.expect(200);
        for i in r.body["items"].as_array().unwrap() {
            seen.push(i["id"].as_str().unwrap().to_string());
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen);
}

#[tokio::test]
async fn inspectors_with_conflicts() {
    let app = spawn_app().await;
    let admin = app.admin();
    let inst = app.institution(hospital("91350100M000100Y43")).await;
    let mut body = inspector_body("medical_insurance", "YB-001", "150602");
    body["conflicts"] = json!([{"institution": "no-such-id", "reason": "亲属关系"}]);
    app.post("/api/v1/inspectors", &admin, body.clone())
        .await
        .expect_problem_field(422, "conflicts[0].institution");
    body["conflicts"] = json!([{"institution": inst, "reason": "亲属关系"}]);
    let r = app
        .post("/api/v1/inspectors", &admin, body.clone())
        .await
        .expect(201);
    assert_eq!(r.body["conflicts"][0]["institution"], inst.as_str());
    let id = r.body["id"].as_str().unwrap().to_string();
    // Certificate numbers are unique.
    app.post("/api/v1/inspectors", &admin, body.clone())
        .await
        .expect(409);
    // Unknown department.
    let mut other = inspector_body("tax", "SW-1", "150602");
    app.post("/api/v1/inspectors", &admin, other.clone())
        .await
        .expect_problem_field(422, "department");
    other["department"] = json!("Tax!");
    app.post("/api/v1/inspectors", &admin, other)
        .await
        .expect_problem_field(422, "department");
    // A coordinator of another department cannot move or edit this inspector.
    let health = app.coordinator("health");
    let mut moved = body.clone();
    moved["department"] = json!("health");
    app.put(&format!("/api/v1/inspectors/{id}"), &health, 1, moved)
        .await
        .expect(403);
    let mi = app.coordinator("medical_insurance");
    let mut leave = body.clone();
    leave["status"] = json!("on_leave");
    app.put(&format!("/api/v1/inspectors/{id}"), &mi, 1, leave)
        .await
        .expect(200);
    let r = app
        .get(
            "/api/v1/inspectors?department=medical_insurance&status=on_leave",
            &admin,
        )
        .await
        .expect(200);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn inspection_items_and_departments() {
    let app = spawn_app().await;
    let admin = app.admin();
    let r = app
        .get("/api/v1/departments", &app.auditor())
        .await
        .expect(200);
    let codes: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        vec!["health", "market_regulation", "medical_insurance"]
    );
    let tax = json!({"code": "tax", "name_zh": "税务局", "name_en": "Tax Bureau"});
    app.post("/api/v1/departments", &admin, tax.clone())
        .await
        .expect(201);
    app.post("/api/v1/departments", &admin, tax)
        .await
        .expect(409);
    app.post(
        "/api/v1/departments",
        &admin,
        json!({"code": "T", "name_zh": "x", "name_en": "x"}),
    )
    .await
    .expect_problem_field(422, "code");

    let item = json!({"department": "medical_insurance", "institution_kind": "retail_pharmacy",
                      "code": "YB-01", "title": "医保药品进销存核查", "legal_basis": "《医疗保障基金使用监督管理条例》"});
    let mi = app.coordinator("medical_insurance");
    let r = app
        .post("/api/v1/inspection-items", &mi, item.clone())
        .await
        .expect(201);
    let id = r.body["id"].as_str().unwrap().to_string();
    app.post("/api/v1/inspection-items", &mi, item.clone())
        .await
        .expect(409);
    app.post(
        "/api/v1/inspection-items",
        &app.coordinator("health"),
        item.clone(),
    )
    .await
    .expect(403);
    let mut bad = item.clone();
    bad["code"] = json!("has space");
    app.post("/api/v1/inspection-items", &mi, bad)
        .await
        .expect_problem_field(422, "code");
    let mut retired = item.clone();
    retired["status"] = json!("retired");
    app.put(&format!("/api/v1/inspection-items/{id}"), &mi, 1, retired)
        .await
        .expect(200);
    let r = app
        .get(
            "/api/v1/inspection-items?department=medical_insurance&status=retired",
            &admin,
        )
        .await
        .expect(200);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    let h = app
        .get(&format!("/api/v1/inspection-items/{id}/history"), &admin)
        .await
        .expect(200);
    assert_eq!(h.body["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn every_change_is_in_the_audit_chain() {
    let app = spawn_app().await;
    let admin = app.admin();
    let id = app.institution(hospital("91350100M000100Y43")).await;
    let mut changed = hospital("91350100M000100Y43");
    changed["address"] = json!("新地址");
    app.put(&format!("/api/v1/institutions/{id}"), &admin, 1, changed)
        .await
        .expect(200);
    app.inspector(inspector_body("health", "WJ-9", "150602"))
        .await;
    assert_eq!(app.audit_len().await, 3);
    let r = app
        .get(&format!("/api/v1/audit-log?object_id={id}"), &app.auditor())
        .await
        .expect(200);
    let actions: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["institution.create", "institution.update"]);
    assert_eq!(
        r.body["items"][1]["prev_hash"],
        r.body["items"][0]["entry_hash"]
    );
    assert_eq!(r.body["items"][0]["actor_sub"], "admin");
    let page = app
        .get("/api/v1/audit-log?limit=2", &admin)
        .await
        .expect(200);
    assert_eq!(page.body["next_cursor"], "2");
    let rest = app
        .get("/api/v1/audit-log?limit=2&cursor=2", &admin)
        .await
        .expect(200);
    assert_eq!(rest.body["items"][0]["seq"], 3);
    app.get("/api/v1/audit-log", &app.coordinator("health"))
        .await
        .expect(403);
}

#[tokio::test]
async fn concurrent_writers_all_land_in_one_chain() {
    let app = spawn_app().await;
    let mut tasks = Vec::new();
    for n in 0..24u32 {
        let client = app.client.clone();
        let url = format!("{}/api/v1/institutions", app.base);
        let token = app.admin();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&institution_body(n, "retail_pharmacy", "150602"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    assert_eq!(app.audit_len().await, 24);
}

#[tokio::test]
async fn the_database_refuses_edits_of_the_audit_log_and_verify_finds_tampering() {
    use sqlx::Connection;
    let app = spawn_app().await;
    for n in 0..3 {
        app.institution(institution_body(n, "retail_pharmacy", "150602"))
            .await;
    }
    assert_eq!(app.audit_len().await, 3);
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    let edit = "UPDATE audit_log SET actor_sub = 'someone else' WHERE seq = 2";
    assert!(
        sqlx::query(edit).execute(&mut db).await.is_err(),
        "append-only"
    );
    assert!(
        sqlx::query("DELETE FROM audit_log WHERE seq = 3")
            .execute(&mut db)
            .await
            .is_err()
    );
    // Someone with full control of the database removes the guard and edits a row.
    let unguard = if app.database_url.starts_with("postgres") {
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"
    } else {
        "DROP TRIGGER audit_log_no_update"
    };
    sqlx::query(unguard).execute(&mut db).await.unwrap();
    sqlx::query(edit).execute(&mut db).await.unwrap();
    let r = app
        .get("/api/v1/audit-log/verify", &app.auditor())
        .await
        .expect(200);
    assert_eq!(r.body["ok"], false);
    assert_eq!(r.body["first_broken"]["seq"], 2, "{}", r.text);
    assert!(
        r.body["first_broken"]["reason"]
            .as_str()
            .unwrap()
            .contains("altered")
    );
}

#[tokio::test]
async fn nul_characters_are_refused_before_they_reach_the_database() {
    let app = spawn_app().await;
    let admin = app.admin();
    for path in [
        "/api/v1/institutions/%00",
        "/api/v1/institutions?q=%00",
        "/api/v1/audit-log?object_id=a%00b",
        "/public/v1/tasks/%00",
    ] {
        let r = app.get(path, &admin).await.expect(400);
        assert_eq!(
            r.headers["content-type"], "application/problem+json",
            "{path}"
        );
    }
    let mut body = json!({"department": "health", "name": "x", "certificate_no": "C-1",
                          "region": "150602", "conflicts": [{"institution": "a\u{0}b", "reason": "r"}]});
    app.post("/api/v1/inspectors", &admin, body.clone())
        .await
        .expect_problem_field(422, "body");
    // A literal backslash followed by u0000 is ordinary text.
    body["conflicts"] = json!([]);
    body["name"] = json!("a\\u0000b");
    app.post("/api/v1/inspectors", &admin, body)
        .await
        .expect(201);
    app.get("/api/v1/calendar/20x7", &admin)
        .await
        .expect_problem_field(422, "year");
    let r = app.get("/api/v1/institutions/%FF", &admin).await.expect(400);
    assert_eq!(r.headers["content-type"], "application/problem+json");
}
