//! 一公开: deadlines, publication, results, the public API.

use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

async fn public(app: &TestApp, path: &str) -> Reply {
    app.send(Method::GET, path, None, None, &[]).await
}

fn result_body(category: &str) -> Value {
    json!({"category": category, "findings": "串换药品3笔", "inspection_date": "2023-08-15",
           "amounts": {"fund_recovered_fen": 123456, "penalty_fen": 0, "violations": 3}})
}

#[tokio::test]
async fn deadlines_follow_the_official_calendar() {
    let app = spawn_app().await;
    let r = public(
        &app,
        "/api/v1/calendar/deadline?from=2025-09-30&working_days=20",
    )
    .await
    .expect(200);
    assert_eq!(r.body["deadline"], "2025-11-04");
    let r = public(
        &app,
        "/api/v1/calendar/deadline?from=2024-02-09&working_days=1",
    )
    .await
    .expect(200);
    assert_eq!(
        r.body["deadline"], "2024-02-18",
        "Spring Festival off, Sunday 02-18 a working day"
    );
    let r = public(
        &app,
        "/api/v1/calendar/deadline?from=2026-12-20&working_days=20",
    )
    .await
    .expect_problem_field(422, "working_days");
    assert!(
        r.body["detail"].as_str().unwrap().contains("2027"),
        "{}",
        r.text
    );
    public(
        &app,
        "/api/v1/calendar/deadline?from=2026-13-01&working_days=1",
    )
    .await
    .expect(422);
    public(
        &app,
        "/api/v1/calendar/deadline?from=2026-01-01&working_days=0",
    )
    .await
    .expect_problem_field(422, "working_days");
    let r = public(&app, "/api/v1/calendar").await.expect(200);
    assert_eq!(r.body["years"], json!([2023, 2024, 2025, 2026]));

    // Loading 2027 (a made-up notice, for the test) makes the deadline computable.
    let year = json!({"days_off": ["2027-01-01", "2027-02-05", "2027-02-08", "2027-02-09"],
                      "working_weekends": ["2027-02-13"]});
    app.send(
        Method::PUT,
        "/api/v1/calendar/2027",
        Some(&app.coordinator("health")),
        Some(&year),
        &[],
    )
    .await
    .expect(403);
    let bad = json!({"days_off": ["2027-01-01"], "working_weekends": ["2027-02-10"]});
    app.send(
        Method::PUT,
        "/api/v1/calendar/2027",
        Some(&app.admin()),
        Some(&bad),
        &[],
    )
    .await
    .expect_problem_field(422, "working_weekends");
    app.send(
        Method::PUT,
        "/api/v1/calendar/2027",
        Some(&app.admin()),
        Some(&year),
        &[],
    )
    .await
    .expect(200);
    let r = public(
        &app,
        "/api/v1/calendar/deadline?from=2026-12-31&working_days=1",
    )
    .await
    .expect(200);
    assert_eq!(r.body["deadline"], "2027-01-04");
    // It is stored: a restarted service has it.
    let store = suiji::store::Store::open(&app.database_url).await.unwrap();
    let calendar = suiji::app::load_calendar(&store).await.unwrap();
    assert!(calendar.get(2027).is_some());
    assert_eq!(app.audit_len().await, 1);
}

async fn published_seed_003(app: &TestApp) -> (String, Value) {
    let (id, task) = drawn_seed_003(app).await;
    app.post(
        &format!("/api/v1/tasks/{id}/publish"),
        &app.coordinator(MI),
        json!(null),
    )
    .await
    .expect(200);
    (id, task)
}

#[tokio::test]
async fn a_task_shows_its_deadlines() {
    let app = spawn_app().await;
    seed_003_county(&app).await;
    let mut body = seed_003_task();
    body["inspection_start"] = json!("2025-09-01");
    body["inspection_end"] = json!("2025-09-30");
    let id = create_task(&app, body).await;
    let r = app
        .get(&format!("/api/v1/tasks/{id}"), &app.auditor())
        .await
        .expect(200);
    assert_eq!(r.body["results_due"], "2025-11-04");
    assert_eq!(r.body["selection_publish_by"], "2025-09-01");
    let mut body = seed_003_task();
    body["inspection_start"] = json!("2026-12-01");
    body["inspection_end"] = json!("2026-12-20");
    body["results_within_working_days"] = json!(30);
    let id = create_task(&app, body).await;
    let r = app
        .get(&format!("/api/v1/tasks/{id}"), &app.auditor())
        .await
        .expect(200);
    assert_eq!(r.body["results_due"], Value::Null);
    assert!(
        r.body["results_due_problem"]
            .as_str()
            .unwrap()
            .contains("2027")
    );
}

#[tokio::test]
async fn nothing_unpublished_ever_appears_on_a_public_route() {
    let app = spawn_app().await;
    let county = seed_003_county(&app).await;
    let (id, task) = drawn_seed_003(&app).await;
    let inst = task["selections"][0]["institution"]
        .as_str()
        .unwrap()
        .to_string();
    // A result recorded before publication.
    app.send(
        Method::PUT,
        &format!("/api/v1/tasks/{id}/results/{inst}"),
        Some(&app.coordinator(MI)),
        Some(&result_body("corrected")),
        &[],
    )
    .await
    .expect(201);
    let everything_public = [
        "/public/v1/tasks".to_string(),
        format!("/public/v1/tasks/{id}"),
        format!("/public/v1/tasks/{id}/bundle"),
        format!("/public/v1/institutions/{inst}/history"),
        "/public/v1/results.csv".to_string(),
        "/public/v1/feed.atom".to_string(),
    ];
    for path in &everything_public {
        let r = public(&app, path).await;
        assert!(!r.text.contains(&id), "{path} leaks the unpublished task");
        assert!(
            !r.text.contains("串换药品"),
            "{path} leaks an unpublished result"
        );
    }
    public(&app, &format!("/public/v1/tasks/{id}"))
        .await
        .expect(404);
    public(&app, &format!("/public/v1/tasks/{id}/bundle"))
        .await
        .expect(404);
    // Drawn only in an unpublished task: the same 404 as an institution never drawn
    // (issue 16 #12; it used to answer 200 with no inspections).
    let h = public(&app, &format!("/public/v1/institutions/{inst}/history"))
        .await
        .expect(404);
    assert!(!h.text.contains(&id));
    public(&app, "/public/v1/institutions/nope/history")
        .await
        .expect(404);

    // Publish the drawn list: the task appears, the unpublished result still does not.
    app.post(
        &format!("/api/v1/tasks/{id}/publish"),
        &app.coordinator(MI),
        json!(null),
    )
    .await
    .expect(200);
    let list = public(&app, "/public/v1/tasks").await.expect(200);
    assert_eq!(list.body["items"][0]["id"], id.as_str());
    let t = public(&app, &format!("/public/v1/tasks/{id}"))
        .await
        .expect(200);
    assert!(!t.text.contains("串换药品"));
    assert_eq!(t.body["results_pending"], 5);
    assert_eq!(t.body["lead_department_name"], "医疗保障局");
    assert_eq!(t.body["departments"][1]["name_zh"], "卫生健康委员会");
    let sel = &t.body["selections"][0];
    let kind_zh = sel["institution"]["kind_zh"].as_str().unwrap();
    assert!(
        ["定点医疗机构", "定点零售药店"].contains(&kind_zh),
        "{kind_zh}"
    );
    assert!(
        sel["institution"]["name"]
            .as_str()
            .unwrap()
            .starts_with("机构")
    );
    assert!(
        sel["leader"]["certificate_no"]
            .as_str()
            .unwrap()
            .starts_with("YB")
    );
    // Inspectors are published by name and certificate number only.
    let keys: Vec<&String> = sel["leader"].as_object().unwrap().keys().collect();
    assert_eq!(keys, vec!["certificate_no", "name"]);
    let b = public(&app, &format!("/public/v1/tasks/{id}/bundle"))
        .await
        .expect(200);
    let parsed: suiji::draw::Bundle = serde_json::from_str(&b.text).unwrap();
    suiji::draw::verify(&parsed).unwrap();
    let csv = public(&app, "/public/v1/results.csv").await.expect(200);
    assert!(csv.text.starts_with('\u{feff}'));
    assert_eq!(
        csv.text.lines().count(),
        1,
        "header only: no published result yet"
    );
    let feed = public(&app, "/public/v1/feed.atom").await.expect(200);
    assert!(
        feed.text
            .contains(&format!("urn:suiji:task:{id}:selection"))
    );

    // Publish results: they appear everywhere.
    let r = app
        .post(
            &format!("/api/v1/tasks/{id}/results/publish"),
            &app.coordinator(MI),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["published"], 1);
    assert_eq!(r.body["pending"], 4);
    assert_eq!(r.body["state"], "published");
    let t = public(&app, &format!("/public/v1/tasks/{id}"))
        .await
        .expect(200);
    assert!(t.text.contains("串换药品"));
    let csv = public(&app, "/public/v1/results.csv").await.expect(200);
    assert_eq!(csv.text.lines().count(), 2);
    assert!(csv.text.contains("发现问题已责令改正"));
    let h = public(&app, &format!("/public/v1/institutions/{inst}/history"))
        .await
        .expect(200);
    assert_eq!(
        h.body["inspections"][0]["selection"]["result"]["category"],
        "corrected"
    );
    let feed = public(&app, "/public/v1/feed.atom").await.expect(200);
    assert!(feed.text.contains("公布抽查结果"));
    let _ = county;
}

#[tokio::test]
async fn results_are_versioned_and_corrections_need_a_reason() {
    let app = spawn_app().await;
    seed_003_county(&app).await;
    let (id, task) = published_seed_003(&app).await;
    let mi = app.coordinator(MI);
    let insts: Vec<String> = task["selections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["institution"].as_str().unwrap().to_string())
        .collect();
    let path = |inst: &str| format!("/api/v1/tasks/{id}/results/{inst}");
    let put = |inst: String, body: Value, token: String| {
        let app = &app;
        let p = path(&inst);
        async move {
            app.send(Method::PUT, &p, Some(&token), Some(&body), &[])
                .await
        }
    };
    // Validation, permissions, unknown institution.
    let mut bad = result_body("follow_up_pending");
    put(insts[0].clone(), bad.clone(), mi.clone())
        .await
        .expect_problem_field(422, "follow_up");
    bad["category"] = json!("great");
    put(insts[0].clone(), bad, mi.clone())
        .await
        .expect_problem_field(422, "category");
    let mut early = result_body("no_problem");
    early["amounts"] = json!({});
    early["inspection_date"] = json!("2023-07-01");
    put(insts[0].clone(), early, mi.clone())
        .await
        .expect_problem_field(422, "inspection_date");
    let mut neg = result_body("corrected");
    neg["amounts"]["penalty_fen"] = json!(-5);
    put(insts[0].clone(), neg, mi.clone())
        .await
        .expect_problem_field(422, "amounts.penalty_fen");
    let mut item = result_body("corrected");
    item["item_outcomes"] = json!([{"item": "X-1", "outcome": "compliant"}]);
    put(insts[0].clone(), item, mi.clone())
        .await
        .expect_problem_field(422, "item_outcomes[0].item");
    put(
        insts[0].clone(),
        result_body("corrected"),
        app.coordinator(HEALTH),
    )
    .await
    .expect(403);
    put("not-drawn".into(), result_body("corrected"), mi.clone())
        .await
        .expect(404);

    // Version 1, unchanged resubmission, publication.
    let r = put(insts[0].clone(), result_body("corrected"), mi.clone())
        .await
        .expect(201);
    assert_eq!(r.body["versions"].as_array().unwrap().len(), 1);
    put(insts[0].clone(), result_body("corrected"), mi.clone())
        .await
        .expect(200);
    app.post(
        &format!("/api/v1/tasks/{id}/results/publish"),
        &mi,
        json!({"institutions": [insts[0]]}),
    )
    .await
    .expect(200);
    // A correction needs a reason; both versions stay.
    let mut corrected = result_body("follow_up_pending");
    corrected["follow_up"] = json!(["case_opened"]);
    put(insts[0].clone(), corrected.clone(), mi.clone())
        .await
        .expect_problem_field(422, "correction_reason");
    corrected["correction_reason"] = json!("复核发现需立案");
    let r = put(insts[0].clone(), corrected, mi.clone())
        .await
        .expect(201);
    let versions = r.body["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert!(versions[0]["published_at"].is_string());
    assert!(versions[1]["published_at"].is_null());
    // The public still sees version 1 until the correction is published.
    let t = public(&app, &format!("/public/v1/tasks/{id}"))
        .await
        .expect(200);
    let shown = |t: &Value| {
        t["selections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["institution"]["id"] == insts[0].as_str())
            .unwrap()["result"]
            .clone()
    };
    assert_eq!(shown(&t.body)["version"], 1);
    app.post(
        &format!("/api/v1/tasks/{id}/results/publish"),
        &mi,
        json!(null),
    )
    .await
    .expect(200);
    let t = public(&app, &format!("/public/v1/tasks/{id}"))
        .await
        .expect(200);
    let r0 = shown(&t.body);
    assert_eq!(r0["version"], 2);
    assert_eq!(r0["correction_reason"], "复核发现需立案");
    assert_eq!(r0["earlier_versions"][0]["version"], 1);
    assert_eq!(r0["earlier_versions"][0]["category"], "corrected");
    // Unknown institutions in the publish list are refused.
    app.post(
        &format!("/api/v1/tasks/{id}/results/publish"),
        &mi,
        json!({"institutions": ["nope"]}),
    )
    .await
    .expect_problem_field(422, "institutions[0]");
    // Every result published: the task closes.
    for inst in &insts[1..] {
        put(
            inst.clone(),
            result_body("no_problem_placeholder"),
            mi.clone(),
        )
        .await
        .expect(422);
        let mut ok = result_body("no_problem");
        ok["amounts"] = json!({});
        put(inst.clone(), ok, mi.clone()).await.expect(201);
    }
    let r = app
        .post(
            &format!("/api/v1/tasks/{id}/results/publish"),
            &mi,
            json!(null),
        )
        .await
        .expect(200);
    assert_eq!(r.body["state"], "closed");
    assert_eq!(r.body["pending"], 0);
    let t = app
        .get(&format!("/api/v1/tasks/{id}"), &mi)
        .await
        .expect(200);
    assert_eq!(t.body["state"], "closed");
    assert!(t.body["closed_at"].is_string());
    let all = app
        .get(&format!("/api/v1/tasks/{id}/results"), &app.auditor())
        .await
        .expect(200);
    assert_eq!(all.body["items"].as_array().unwrap().len(), 5);
    // Published result versions cannot be changed in the database.
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    assert!(
        sqlx::query("UPDATE inspection_results SET data = '{}'")
            .execute(&mut db)
            .await
            .is_err()
    );
    assert!(
        sqlx::query("DELETE FROM inspection_results")
            .execute(&mut db)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn publication_steps_in_the_wrong_state() {
    let app = spawn_app().await;
    seed_003_county(&app).await;
    let id = create_task(&app, seed_003_task()).await;
    let mi = app.coordinator(MI);
    let r = app
        .post(&format!("/api/v1/tasks/{id}/publish"), &mi, json!(null))
        .await
        .expect(409);
    assert_eq!(r.body["current_state"], "draft");
    let (id, task) = drawn_seed_003(&app).await;
    let inst = task["selections"][0]["institution"].as_str().unwrap();
    app.send(
        Method::PUT,
        &format!("/api/v1/tasks/{id}/results/{inst}"),
        Some(&mi),
        Some(&result_body("corrected")),
        &[],
    )
    .await
    .expect(201);
    // Results cannot be published before the drawn list.
    app.post(
        &format!("/api/v1/tasks/{id}/results/publish"),
        &mi,
        json!(null),
    )
    .await
    .expect(409);
    app.post(
        &format!("/api/v1/tasks/{id}/publish"),
        &app.coordinator(HEALTH),
        json!(null),
    )
    .await
    .expect(403);
    app.post(&format!("/api/v1/tasks/{id}/publish"), &mi, json!(null))
        .await
        .expect(200);
    app.post(&format!("/api/v1/tasks/{id}/publish"), &mi, json!(null))
        .await
        .expect(409);
    // Replacements stay possible after publication.
    let mi_team = task["selections"][0]["team"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["department"] == MI)
        .unwrap()["inspectors"][1]
        .clone();
    app.post(
        &format!("/api/v1/tasks/{id}/replacements"),
        &mi,
        json!({"institution": inst, "department": MI, "out": mi_team, "reason": "病假"}),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn public_responses_are_cacheable_and_cross_origin() {
    let app = spawn_app().await;
    seed_003_county(&app).await;
    let (id, _) = published_seed_003(&app).await;
    for path in [
        "/public/v1/tasks".to_string(),
        format!("/public/v1/tasks/{id}"),
        format!("/public/v1/tasks/{id}/bundle"),
        "/public/v1/results.csv".to_string(),
        "/public/v1/feed.atom".to_string(),
    ] {
        let r = app
            .send(
                Method::GET,
                &path,
                None,
                None,
                &[("origin", "https://portal.example")],
            )
            .await
            .expect(200);
        let etag = r.header("etag").to_string();
        assert!(
            etag.starts_with('"') && etag.len() > 10,
            "{path}: strong ETag"
        );
        assert!(r.header("cache-control").contains("max-age"), "{path}");
        assert_eq!(r.header("access-control-allow-origin"), "*", "{path}");
        let again = app
            .send(
                Method::GET,
                &path,
                None,
                None,
                &[("if-none-match", etag.as_str())],
            )
            .await;
        assert_eq!(again.status, 304, "{path}");
        assert_eq!(again.header("etag"), etag);
    }
    let r = public(
        &app,
        "/public/v1/tasks?year=2023&department=health&region_prefix=1506",
    )
    .await
    .expect(200);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    for q in ["year=2024", "department=tax", "region_prefix=11"] {
        let r = public(&app, &format!("/public/v1/tasks?{q}"))
            .await
            .expect(200);
        assert_eq!(r.body["items"], json!([]), "{q}");
    }
    public(&app, "/public/v1/tasks?state=draft")
        .await
        .expect_problem_field(422, "state");
}

#[tokio::test]
async fn overdue_report_judges_as_of_a_date() {
    let app = spawn_app().await;
    seed_003_county(&app).await;
    let (id, _) = drawn_seed_003(&app).await;
    let report = |as_of: &'static str| {
        let app = &app;
        async move {
            app.get(
                &format!("/api/v1/reports/overdue?as_of={as_of}"),
                &app.auditor(),
            )
            .await
            .expect(200)
            .body
        }
    };
    assert_eq!(report("2023-07-15").await["departments"], json!([]));
    let r = report("2023-08-02").await;
    assert_eq!(r["departments"][0]["department"], MI);
    let item = &r["departments"][0]["items"][0];
    assert_eq!(item["task_id"], id.as_str());
    assert_eq!(item["kind"], "selection");
    assert_eq!(item["due"], "2023-08-01");
    assert_eq!(item["working_days_late"], 1);
    app.post(
        &format!("/api/v1/tasks/{id}/publish"),
        &app.coordinator(MI),
        json!(null),
    )
    .await
    .expect(200);
    // Results are due 20 working days after 2023-08-31: 2023-09-28.
    assert_eq!(report("2023-09-28").await["departments"], json!([]));
    let r = report("2023-10-09").await;
    let item = &r["departments"][0]["items"][0];
    assert_eq!(item["kind"], "results");
    assert_eq!(item["due"], "2023-09-28");
    assert_eq!(item["pending_institutions"], 5);
    assert_eq!(
        item["working_days_late"], 3,
        "holiday 09-29..10-06 off; 10-07, 10-08 worked; 10-09"
    );
    app.get("/api/v1/reports/overdue?as_of=yesterday", &app.auditor())
        .await
        .expect_problem_field(422, "as_of");
}

// ---- the publication read model: cached views follow every change ----

/// The published result shown for `inst` in a public task view.
fn shown_result(task: &Value, inst: &str) -> Value {
    task["selections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["institution"]["id"] == inst)
        .unwrap()["result"]
        .clone()
}

/// GETs `path` with `If-None-Match: etag` and returns the reply (200 when changed).
async fn revalidate(app: &TestApp, path: &str, etag: &str) -> Reply {
    app.send(Method::GET, path, None, None, &[("if-none-match", etag)])
        .await
}

#[tokio::test]
async fn publish_correction_and_replacement_show_up_at_once_everywhere() {
    let app = spawn_app().await;
    seed_003_county(&app).await;
    let (id, task) = published_seed_003(&app).await;
    let mi = app.coordinator(MI);
    let insts: Vec<String> = task["selections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["institution"].as_str().unwrap().to_string())
        .collect();
    let view = format!("/public/v1/tasks/{id}");
    let portal = format!("/tasks/{id}");
    let paths = [
        view.clone(),
        portal.clone(),
        "/public/v1/results.csv".to_string(),
        "/public/v1/feed.atom".to_string(),
        format!("/public/v1/institutions/{}/history", insts[0]),
    ];
    // Warm every view (twice: the second answer comes from the cache).
    let mut etags = Vec::new();
    for p in &paths {
        public(&app, p).await.expect(200);
        let r = public(&app, p).await.expect(200);
        assert!(!r.text.contains("串换药品"), "{p}");
        etags.push(r.header("etag").to_string());
    }

    // A recorded, unpublished result changes nothing the public sees.
    app.send(
        Method::PUT,
        &format!("/api/v1/tasks/{id}/results/{}", insts[0]),
        Some(&mi),
        Some(&result_body("corrected")),
        &[],
    )
    .await
    .expect(201);
    for (p, etag) in paths.iter().zip(&etags) {
        let r = revalidate(&app, p, etag).await;
        assert_eq!(r.status, 304, "{p}: nothing published changed");
    }

    // Publication of the result: every view has it on the next request.
    app.post(
        &format!("/api/v1/tasks/{id}/results/publish"),
        &mi,
        json!(null),
    )
    .await
    .expect(200);
    for (p, etag) in paths.iter().zip(&etags) {
        let r = revalidate(&app, p, etag).await.expect(200);
        assert_ne!(r.header("etag"), etag, "{p}");
        if p.ends_with("feed.atom") {
            assert!(r.text.contains("公布抽查结果"), "{p}");
        } else {
            assert!(r.text.contains("串换药品"), "{p}");
        }
    }
    let t = public(&app, &view).await.expect(200);
    assert_eq!(shown_result(&t.body, &insts[0])["version"], 1);
    let feed_before = public(&app, "/public/v1/feed.atom").await.expect(200);
    let csv_before = public(&app, "/public/v1/results.csv").await.expect(200);

    // A published correction: version 2 everywhere, version 1 kept visible.
    let mut corrected = result_body("follow_up_pending");
    corrected["follow_up"] = json!(["case_opened"]);
    corrected["findings"] = json!("复核后发现虚构医疗服务");
    corrected["correction_reason"] = json!("复核发现需立案");
    app.send(
        Method::PUT,
        &format!("/api/v1/tasks/{id}/results/{}", insts[0]),
        Some(&mi),
        Some(&corrected),
        &[],
    )
    .await
    .expect(201);
    app.post(
        &format!("/api/v1/tasks/{id}/results/publish"),
        &mi,
        json!(null),
    )
    .await
    .expect(200);
    let t = public(&app, &view).await.expect(200);
    let shown = shown_result(&t.body, &insts[0]);
    assert_eq!(shown["version"], 2);
    assert_eq!(shown["earlier_versions"][0]["version"], 1);
    let page = public(&app, &portal).await.expect(200);
    assert!(page.text.contains("复核发现需立案"));
    assert!(page.text.contains("复核后发现虚构医疗服务"));
    let csv = public(&app, "/public/v1/results.csv").await.expect(200);
    assert_ne!(csv.text, csv_before.text);
    assert!(csv.text.contains("复核后发现虚构医疗服务"));
    assert!(csv.text.contains("follow_up_pending"));
    assert_eq!(csv.text.lines().count(), 2, "one row per inspection");
    let feed = public(&app, "/public/v1/feed.atom").await.expect(200);
    assert_ne!(
        feed.text, feed_before.text,
        "the feed has the new publication"
    );
    let h = public(&app, &paths[4]).await.expect(200);
    assert_eq!(
        h.body["inspections"][0]["selection"]["result"]["version"],
        2
    );

    // A replacement: the new team member shows in the view, the portal and the history.
    let out = task["selections"][0]["team"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["department"] == MI)
        .unwrap()["inspectors"][1]
        .clone();
    let before = public(&app, &view).await.expect(200);
    app.post(
        &format!("/api/v1/tasks/{id}/replacements"),
        &mi,
        json!({"institution": insts[0], "department": MI, "out": out, "reason": "因病回避ZQR"}),
    )
    .await
    .expect(201);
    let after = public(&app, &view).await.expect(200);
    assert_eq!(after.body["replacements"].as_array().unwrap().len(), 1);
    assert_eq!(after.body["replacements"][0]["reason"], "因病回避ZQR");
    let team = |v: &Value| v["selections"][0]["team"].clone();
    assert_ne!(team(&after.body), team(&before.body));
    assert!(
        public(&app, &portal)
            .await
            .expect(200)
            .text
            .contains("因病回避ZQR")
    );
    let h = public(&app, &paths[4]).await.expect(200);
    assert_eq!(
        h.body["inspections"][0]["selection"]["team"],
        team(&after.body)
    );
    // The bundle, rebuilt, carries the replacement and still verifies.
    let b = public(&app, &format!("/public/v1/tasks/{id}/bundle"))
        .await
        .expect(200);
    assert!(b.text.contains("因病回避ZQR"));
    assert_eq!(
        b.text.as_bytes(),
        bundle(&app, &id).await.as_slice(),
        "the public bundle is byte for byte the coordinator's"
    );
    let parsed: suiji::draw::Bundle = serde_json::from_str(&b.text).unwrap();
    suiji::draw::verify(&parsed).unwrap();
}

#[tokio::test]
async fn another_node_s_publication_reaches_this_node_s_views() {
    let app = spawn_app().await;
    seed_003_county(&app).await;
    let (id, _) = drawn_seed_003(&app).await;
    let other = spawn_second_node(&app).await;
    let view = format!("/public/v1/tasks/{id}");
    // The second node has cached the answer: no such published task.
    public(&other, "/public/v1/tasks").await.expect(200);
    public(&other, &view).await.expect(404);
    let list = public(&other, "/public/v1/tasks").await.expect(200);
    assert_eq!(list.body["items"], json!([]));
    // The first node publishes; the second notices through the audit chain's head.
    app.post(
        &format!("/api/v1/tasks/{id}/publish"),
        &app.coordinator(MI),
        json!(null),
    )
    .await
    .expect(200);
    let mut seen = false;
    for _ in 0..100 {
        let list = public(&other, "/public/v1/tasks").await.expect(200);
        if list.body["items"][0]["id"] == id.as_str() {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(seen, "the other node's publication never reached this node");
    public(&other, &view).await.expect(200);
    public(&other, &format!("/tasks/{id}")).await.expect(200);
}

#[tokio::test]
async fn conditional_requests_work_across_origins_and_on_the_portal() {
    let app = spawn_app().await;
    seed_003_county(&app).await;
    let (id, _) = published_seed_003(&app).await;
    // A browser's preflight before a conditional cross-origin GET (issue 16 #13).
    for path in [
        "/public/v1/tasks".to_string(),
        format!("/public/v1/tasks/{id}"),
        format!("/public/v1/tasks/{id}/bundle"),
        "/public/v1/results.csv".to_string(),
        "/public/v1/feed.atom".to_string(),
    ] {
        let r = app
            .send(
                Method::OPTIONS,
                &path,
                None,
                None,
                &[
                    ("origin", "https://portal.example"),
                    ("access-control-request-method", "GET"),
                    ("access-control-request-headers", "if-none-match"),
                ],
            )
            .await;
        assert!(r.status.is_success(), "{path}: preflight got {}", r.status);
        assert_eq!(r.header("access-control-allow-origin"), "*", "{path}");
        let allowed = r
            .header("access-control-allow-headers")
            .to_ascii_lowercase();
        assert!(
            allowed == "*" || allowed.contains("if-none-match"),
            "{path}: {allowed}"
        );
        let g = app
            .send(
                Method::GET,
                &path,
                None,
                None,
                &[("origin", "https://portal.example")],
            )
            .await
            .expect(200);
        assert!(
            g.header("access-control-expose-headers")
                .to_ascii_lowercase()
                .contains("etag"),
            "{path}"
        );
    }
    // The portal's pages revalidate too.
    for path in ["/".to_string(), format!("/tasks/{id}")] {
        let r = public(&app, &path).await.expect(200);
        let etag = r.header("etag").to_string();
        let again = revalidate(&app, &path, &etag).await;
        assert_eq!(again.status, 304, "{path}");
        assert_eq!(again.header("etag"), etag, "{path}");
    }
}

#[tokio::test]
async fn long_list_parameters_are_refused_by_name() {
    let app = spawn_app().await;
    seed_003_county(&app).await;
    published_seed_003(&app).await;
    // 496 values used to be a 500 on SQLite ("Expression tree is too large").
    let many = |v: &str, n: usize| vec![v; n].join(",");
    for n in [201, 496, 1000] {
        public(
            &app,
            &format!("/public/v1/tasks?region_prefix={}", many("1506", n)),
        )
        .await
        .expect_problem_field(422, "region_prefix");
        public(
            &app,
            &format!("/public/v1/tasks?department={}", many("health", n)),
        )
        .await
        .expect_problem_field(422, "department");
        let page = public(&app, &format!("/?region_prefix={}", many("1506", n)))
            .await
            .expect(422);
        assert!(page.text.contains("region_prefix"), "the page names it");
    }
    let r = public(
        &app,
        &format!("/public/v1/tasks?region_prefix={}", many("1506", 100)),
    )
    .await
    .expect(200);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    public(&app, &format!("/?region_prefix={}", many("1506", 100)))
        .await
        .expect(200);
}

#[tokio::test]
async fn history_is_only_for_institutions_drawn_in_a_published_task() {
    let app = spawn_app().await;
    seed_003_county(&app).await;
    let (_, task) = published_seed_003(&app).await;
    // Registered but never drawn (issue 16 #12): 404, like an unknown id.
    let never = app
        .institution(institution_body(987, "retail_pharmacy", "150602"))
        .await;
    let r = public(&app, &format!("/public/v1/institutions/{never}/history"))
        .await
        .expect(404);
    assert!(!r.text.contains("机构987"));
    let drawn = task["selections"][0]["institution"].as_str().unwrap();
    let h = public(&app, &format!("/public/v1/institutions/{drawn}/history"))
        .await
        .expect(200);
    assert_eq!(h.body["inspections"].as_array().unwrap().len(), 1);
    assert_eq!(h.body["institution"]["id"], drawn);
}

#[tokio::test]
async fn results_csv_pages_with_a_cursor() {
    let app = spawn_app().await;
    seed_003_county(&app).await;
    let (id, task) = published_seed_003(&app).await;
    let mi = app.coordinator(MI);
    for s in task["selections"].as_array().unwrap().iter().take(3) {
        let inst = s["institution"].as_str().unwrap();
        app.send(
            Method::PUT,
            &format!("/api/v1/tasks/{id}/results/{inst}"),
            Some(&mi),
            Some(&result_body("corrected")),
            &[],
        )
        .await
        .expect(201);
    }
    app.post(
        &format!("/api/v1/tasks/{id}/results/publish"),
        &mi,
        json!(null),
    )
    .await
    .expect(200);
    let all = public(&app, "/public/v1/results.csv").await.expect(200);
    assert_eq!(all.text.lines().count(), 4);
    assert!(
        all.headers.get("link").is_none(),
        "one page holds everything"
    );
    // Two rows a page: the header on each page, a next link until the end.
    let mut rows = Vec::new();
    let mut path = "/public/v1/results.csv?limit=2".to_string();
    let mut pages = 0;
    loop {
        let r = public(&app, &path).await.expect(200);
        pages += 1;
        let mut lines = r.text.lines();
        assert_eq!(
            lines.next(),
            all.text.lines().next(),
            "header on every page"
        );
        rows.extend(lines.map(String::from));
        let Some(link) = r.headers.get("link") else {
            break;
        };
        let link = link.to_str().unwrap().to_string();
        assert!(link.ends_with("rel=\"next\""), "{link}");
        let cursor = r.header("x-next-cursor").to_string();
        assert!(link.contains(&cursor));
        path = format!("/public/v1/results.csv?limit=2&cursor={cursor}");
    }
    assert_eq!(pages, 2);
    assert_eq!(rows, all.text.lines().skip(1).collect::<Vec<_>>());
    public(&app, "/public/v1/results.csv?cursor=nope")
        .await
        .expect_problem_field(422, "cursor");
    public(&app, "/public/v1/results.csv?limit=0")
        .await
        .expect_problem_field(422, "limit");
}

#[tokio::test]
async fn feed_links_come_from_the_configured_public_url() {
    let app =
        spawn_app_with(|c| c.public_url = Some("https://gongshi.example.gov.cn/".into())).await;
    seed_003_county(&app).await;
    let (id, _) = published_seed_003(&app).await;
    let feed = app
        .send(
            Method::GET,
            "/public/v1/feed.atom",
            None,
            None,
            &[("host", "attacker.example")],
        )
        .await
        .expect(200);
    assert!(!feed.text.contains("attacker.example"));
    assert!(
        feed.text
            .contains(&format!("https://gongshi.example.gov.cn/tasks/{id}"))
    );
    assert!(
        feed.text
            .contains("https://gongshi.example.gov.cn/public/v1/feed.atom")
    );
    // Unset, it is the local address the service listens on.
    let local = spawn_app().await;
    let feed = public(&local, "/public/v1/feed.atom").await.expect(200);
    assert!(
        feed.text
            .contains(&format!("{}/public/v1/feed.atom", local.base)),
        "{}",
        feed.text
    );
}

#[tokio::test]
async fn results_csv_neutralises_formulas_in_published_text() {
    let app = spawn_app().await;
    seed_003_county(&app).await;
    let (id, task) = published_seed_003(&app).await;
    let mi = app.coordinator(MI);
    let inst = task["selections"][0]["institution"].as_str().unwrap();
    let mut body = result_body("corrected");
    body["findings"] = json!("=HYPERLINK(\"http://x\",\"点此\")");
    app.send(
        Method::PUT,
        &format!("/api/v1/tasks/{id}/results/{inst}"),
        Some(&mi),
        Some(&body),
        &[],
    )
    .await
    .expect(201);
    app.post(
        &format!("/api/v1/tasks/{id}/results/publish"),
        &mi,
        json!(null),
    )
    .await
    .expect(200);
    let csv = public(&app, "/public/v1/results.csv").await.expect(200);
    assert!(
        csv.text.contains("'=HYPERLINK("),
        "the formula is quoted as text: {}",
        csv.text
    );
    assert!(
        !csv.text.contains(",=HYPERLINK(") && !csv.text.contains(",\"=HYPERLINK("),
        "no cell starts with the formula"
    );
}
