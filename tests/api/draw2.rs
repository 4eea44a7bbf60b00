//! suiji-draw/2 pieces wired into the service: `suiji audit verify --anchor SEQ:HASH` (a
//! chain anchor saved earlier holds against the log, a rewritten entry contradicts it) and
//! the browser verifier page served by the application router.

use crate::helpers::*;

fn audit_verify(database_url: &str, anchors: &[String]) -> (i32, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_suiji"));
    cmd.args(["audit", "verify", "--database-url", database_url]);
    for a in anchors {
        cmd.arg("--anchor").arg(a);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn a_saved_anchor_holds_and_a_rewritten_history_contradicts_it() {
    let app = spawn_app().await;
    app.institution(institution_body(701, "retail_pharmacy", "150602"))
        .await;
    app.institution(institution_body(702, "retail_pharmacy", "150602"))
        .await;
    let log = app
        .get("/api/v1/audit-log?limit=10", &app.auditor())
        .await
        .expect(200);
    let first = &log.body["items"][0];
    let seq = first["seq"].as_i64().unwrap();
    let hash = first["entry_hash"].as_str().unwrap().to_owned();
    if !app.database_url.starts_with("sqlite") {
        return; // the CLI check is the same on PostgreSQL; one run is enough
    }

    let (code, out) = audit_verify(&app.database_url, &[format!("{seq}:{hash}")]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("anchor {seq}:{hash} holds")), "{out}");

    // An anchor the log contradicts: another hash for that entry, or an entry that is gone.
    let (code, out) = audit_verify(&app.database_url, &[format!("{seq}:{}", "0".repeat(64))]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("history was rewritten"), "{out}");
    let (code, out) = audit_verify(&app.database_url, &[format!("999999:{hash}")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("does not exist"), "{out}");
    let (code, out) = audit_verify(&app.database_url, &["not-an-anchor".into()]);
    assert_eq!(code, 2, "{out}");
}

#[tokio::test]
async fn the_service_serves_the_browser_verifier_offline() {
    let app = spawn_app().await;
    let page = app
        .client
        .get(format!("{}/verify", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains("在浏览器中核验"), "{html}");
    for asset in ["verify.js", "noble.js", "verify.css"] {
        let r = app
            .client
            .get(format!("{}/verify/{asset}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{asset}");
    }
}

// ---- suiji-draw/2 in the task lifecycle (issue 11's holes, each tried and refused) ----

use serde_json::{Value, json};

async fn public(app: &TestApp, path: &str) -> (u16, Value) {
    let r = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn reveal(d: &str) -> Value {
    json!({"source": format!("department:{d}"), "value": secret(d)})
}

fn beacon(signature: &str) -> Value {
    json!({"source": "beacon:drand-quicknet", "value": signature})
}

fn anchored(head: &Value, action: &str, id: &str) -> bool {
    head["anchors"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["action"] == action && a["task_id"] == id)
}

/// Before round 657413 (2023-09-15T11:00:03Z); reveals close at 10:30.
const SEALED_AT: &str = "2023-09-15T10:00:00Z";
const DEADLINE: &str = "2023-09-15T10:30:00Z";

#[tokio::test]
async fn a_v2_task_announces_at_seal_forfeits_a_late_department_and_checks_the_beacon() {
    let (app, clock) = spawn_app_at(SEALED_AT).await;
    seed_003_county(&app).await;
    let mi = app.coordinator(MI);
    let id = create_task(&app, seed_003_task_v2(DEADLINE)).await;
    let path = |step: &str| format!("/api/v1/tasks/{id}/{step}");
    commit_all(&app, &id, &[MI, HEALTH, MR]).await;

    // Nothing is announced before sealing.
    let (status, _) = public(&app, &format!("/public/v1/tasks/{id}/announcement")).await;
    assert_eq!(status, 404);
    let sealed = app
        .post(&path("seal"), &mi, json!(null))
        .await
        .expect(200)
        .body;
    assert_eq!(sealed["protocol"], "suiji-draw/2");
    assert_eq!(sealed["trust"]["level"], "beacon");
    assert!(sealed["trust"]["zh"].as_str().unwrap().contains("657413"));

    // The announcement is public at once, before any reveal.
    let (status, a) = public(&app, &format!("/public/v1/tasks/{id}/announcement")).await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["pool_hash"], sealed["pool_hash"]);
    assert_eq!(a["beacon_round"], 657413);
    assert_eq!(a["reveal_deadline"], "2023-09-15T10:30:00Z");
    assert_eq!(a["sealed_at"], sealed["sealed_at"]);
    assert_eq!(a["lead_department"], MI);
    let counts: Vec<u64> = a["strata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["members"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, vec![7, 72], "{a}");
    assert!(
        a["entropy"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["source"].as_str().unwrap().starts_with("department:"))
            .all(|e| e["commitment"].as_str().is_some_and(|c| c.len() == 64))
    );
    // The portal shows it too.
    let page = app
        .client
        .get(format!("{}/tasks/{id}/announcement", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains(sealed["pool_hash"].as_str().unwrap()),
        "{page}"
    );
    assert!(page.contains("657413"), "{page}");
    // The chain's head at the seal is published.
    let (_, head) = public(&app, "/public/v1/audit/head").await;
    assert!(anchored(&head, "task.seal", &id), "{head}");
    let (_, feed) = {
        let r = app
            .client
            .get(format!("{}/public/v1/feed.atom", app.base))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    };
    assert!(feed.contains("封存公告"), "{feed}");

    // Two departments reveal before the deadline; nobody reads the values before the draw.
    for d in [MI, HEALTH] {
        app.post(&path("reveals"), &app.coordinator(d), reveal(d))
            .await
            .expect(201);
    }
    for token in [app.admin(), mi.clone(), app.auditor()] {
        let view = app
            .get(&format!("/api/v1/tasks/{id}"), &token)
            .await
            .expect(200)
            .body;
        for e in view["entropy"].as_array().unwrap() {
            assert!(
                e["value"].is_null(),
                "a value is readable before the draw: {e}"
            );
        }
        let mi_status = view["entropy"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["source"] == format!("department:{MI}"))
            .unwrap()
            .clone();
        assert_eq!(mi_status["revealed"], true);
    }
    // From the first reveal on, the task cannot be cancelled.
    let r = app
        .post(
            &path("cancel"),
            &mi,
            json!({"reason": "we would rather start again"}),
        )
        .await
        .expect(409);
    assert!(r.text.contains("reveal"), "{}", r.text);
    // The draw waits for the beacon (and, before the deadline, for the third department).
    app.post(&path("draw"), &mi, json!(null)).await.expect(409);

    // After the deadline: the late department is refused, naming the deadline.
    clock.set(instant("2023-09-15T11:05:00Z"));
    let r = app
        .post(&path("reveals"), &app.coordinator(MR), reveal(MR))
        .await
        .expect(409);
    assert!(r.text.contains("2023-09-15T10:30:00Z"), "{}", r.text);
    // A signature that is not round 657413's is refused, naming the field.
    let r = app
        .post(&path("reveals"), &mi, beacon(ROUND_123_SIGNATURE))
        .await
        .expect_problem_field(422, "value");
    assert!(r.text.contains("657413"), "{}", r.text);
    app.post(&path("reveals"), &mi, beacon("00"))
        .await
        .expect_problem_field(422, "value");
    app.post(&path("reveals"), &mi, beacon(ROUND_657413.1))
        .await
        .expect(201);

    // The draw: the late department is forfeited, in the view and the bundle.
    let drawn = app
        .post(&path("draw"), &mi, json!(null))
        .await
        .expect(200)
        .body;
    assert_eq!(drawn["forfeited"], json!([format!("department:{MR}")]));
    assert!(!drawn["selections"].as_array().unwrap().is_empty());
    let (_, head) = public(&app, "/public/v1/audit/head").await;
    assert!(anchored(&head, "task.draw", &id), "{head}");
    // After the draw the values are shown.
    assert!(
        drawn["entropy"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["value"] == secret(MI))
    );

    // Chained replacements: each record after the previous one's hash.
    let first = &drawn["selections"][0];
    let inst = first["institution"].as_str().unwrap().to_owned();
    let out = first["team"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["department"] == MI)
        .unwrap()["inspectors"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let r1 = app
        .post(
            &path("replacements"),
            &mi,
            json!({"institution": inst, "department": MI, "out": out, "reason": "回避：近亲属任职"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(r1["prev"], drawn["result_hash"]);
    let in1 = r1["in"].as_str().unwrap().to_owned();
    let r2 = app
        .post(
            &path("replacements"),
            &mi,
            json!({"institution": inst, "department": MI, "out": in1, "reason": "生病"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(r2["prev"], r1["hash"]);
    let view = app
        .get(&format!("/api/v1/tasks/{id}"), &mi)
        .await
        .expect(200)
        .body;
    assert_eq!(view["replacements_head"], r2["hash"]);
    assert_eq!(view["replacements"][1]["hash"], r2["hash"]);

    // The auditor's bundle verifies, with round, signature and forfeit; a dropped record
    // fails, naming the chain.
    let bytes = bundle(&app, &id).await;
    let b = suiji::draw::v2::parse_bundle(&bytes).unwrap();
    let summary = b.verify().unwrap();
    assert_eq!(summary.spec, "suiji-draw/2");
    assert_eq!(summary.replacements, 2);
    assert_eq!(summary.replacements_head.as_deref(), r2["hash"].as_str());
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["beacon"]["round"], 657413);
    assert_eq!(v["beacon"]["signature"], ROUND_657413.1);
    assert_eq!(v["forfeited"], json!([format!("department:{MR}")]));
    let mut dropped = v.clone();
    dropped["replacements"].as_array_mut().unwrap().pop();
    let dropped = suiji::draw::v2::parse_bundle(dropped.to_string().as_bytes()).unwrap();
    assert_eq!(
        dropped.verify().unwrap_err().step,
        suiji::draw::v2::Step::Replacement
    );

    // Published: the public bundle (proofs only) verifies, and the head is anchored again.
    app.post(&path("publish"), &mi, json!(null))
        .await
        .expect(200);
    let (_, head) = public(&app, "/public/v1/audit/head").await;
    assert!(anchored(&head, "task.publish", &id), "{head}");
    let r = app
        .client
        .get(format!("{}/public/v1/tasks/{id}/bundle", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let public_bytes = r.bytes().await.unwrap();
    let pb = suiji::draw::v2::parse_bundle(&public_bytes).unwrap();
    let s = pb.verify().unwrap();
    assert!(!s.full_conflicts);
    assert_eq!(s.result_hash, summary.result_hash);

    // The public view and the portal page state the trust, the forfeit and the chain.
    let (_, pv) = public(&app, &format!("/public/v1/tasks/{id}")).await;
    assert_eq!(pv["protocol"], "suiji-draw/2");
    assert_eq!(pv["forfeited"], json!([format!("department:{MR}")]));
    assert_eq!(pv["replacements_head"], r2["hash"]);
    assert_eq!(pv["replacements"][0]["hash"], r1["hash"]);
    assert_eq!(pv["trust_zh"], sealed["trust"]["zh"]);
    let page = app
        .client
        .get(format!("{}/tasks/{id}", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("公正性依据"), "{page}");
    assert!(page.contains(r2["hash"].as_str().unwrap()));
    assert!(page.contains("department:market_regulation"));
    assert!(
        page.contains("simulated-clock"),
        "the demo banner is on every page"
    );
}

#[tokio::test]
async fn a_v2_seal_refuses_a_past_deadline_and_a_round_not_after_it() {
    let (app, clock) = spawn_app_at(SEALED_AT).await;
    seed_003_county(&app).await;
    let mi = app.coordinator(MI);
    // A round published before the deadline: refused at creation, naming the round.
    let mut early = seed_003_task_v2("2023-09-15T11:30:00Z");
    early["entropy_plan"][3]["round"] = json!(ROUND_657413.0);
    app.post("/api/v1/tasks", &mi, early)
        .await
        .expect_problem_field(422, "entropy_plan[3].round");
    // No deadline at all: /2 needs one.
    let mut none = seed_003_task_v2(DEADLINE);
    none.as_object_mut().unwrap().remove("reveal_deadline");
    app.post("/api/v1/tasks", &mi, none)
        .await
        .expect_problem_field(422, "reveal_deadline");

    // A deadline that has passed by the time of sealing.
    let id = create_task(&app, seed_003_task_v2(DEADLINE)).await;
    commit_all(&app, &id, &[MI, HEALTH, MR]).await;
    clock.set(instant("2023-09-15T10:45:00Z"));
    app.post(&format!("/api/v1/tasks/{id}/seal"), &mi, json!(null))
        .await
        .expect_problem_field(422, "reveal_deadline");
    let view = app
        .get(&format!("/api/v1/tasks/{id}"), &mi)
        .await
        .expect(200)
        .body;
    assert_eq!(view["state"], "draft");
    assert!(view["simulated_clock"].is_string());
}

#[tokio::test]
async fn a_task_cancelled_after_sealing_stays_public_with_its_reason() {
    let (app, _clock) = spawn_app_at(SEALED_AT).await;
    seed_003_county(&app).await;
    let mi = app.coordinator(MI);
    let id = create_task(&app, seed_003_task_v2(DEADLINE)).await;
    commit_all(&app, &id, &[MI, HEALTH, MR]).await;
    app.post(&format!("/api/v1/tasks/{id}/seal"), &mi, json!(null))
        .await
        .expect(200);
    app.post(
        &format!("/api/v1/tasks/{id}/cancel"),
        &mi,
        json!({"reason": "registry incomplete"}),
    )
    .await
    .expect(200);
    let (status, a) = public(&app, &format!("/public/v1/tasks/{id}/announcement")).await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["state"], "cancelled");
    assert_eq!(a["cancel_reason"], "registry incomplete");
    assert!(a["pool_hash"].is_string());
    assert!(
        a["entropy"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["revealed"] == false)
    );
}

/// Issue 11 #4: a sample without teams (`departments: []`): the lead department's secret
/// and the beacon make the seed; every selection has no team and `leader: null`, in the
/// coordinator view, the public view, the portal page, the feed and the bundles.
#[tokio::test]
async fn a_v2_sample_without_teams_is_drawn_published_and_verified() {
    let (app, clock) = spawn_app_at(SEALED_AT).await;
    seed_003_county(&app).await;
    let mi = app.coordinator(MI);
    let mut body = seed_003_task_v2(DEADLINE);
    body["title"] = json!("2023年定点医药机构复查抽样");
    body["departments"] = json!([]);
    body["entropy_plan"] = json!([{"source": format!("department:{MI}")},
        {"source": "beacon:drand-quicknet", "round": ROUND_657413.0}]);
    // Its secrets come from registered departments (here the lead and health: any one
    // honest department suffices), not from a department that does not exist.
    body["entropy_plan"] = json!([{"source": format!("department:{MI}")},
        {"source": format!("department:{HEALTH}")},
        {"source": "beacon:drand-quicknet", "round": ROUND_657413.0}]);
    let mut other = body.clone();
    other["entropy_plan"][1]["source"] = json!("department:customs");
    app.post("/api/v1/tasks", &mi, other)
        .await
        .expect_problem_field(422, "entropy_plan[1].source");
    let id = create_task(&app, body).await;
    let path = |step: &str| format!("/api/v1/tasks/{id}/{step}");
    commit_all(&app, &id, &[MI, HEALTH]).await;
    let sealed = app
        .post(&path("seal"), &mi, json!(null))
        .await
        .expect(200)
        .body;
    assert_eq!(sealed["protocol"], "suiji-draw/2");
    let (status, a) = public(&app, &format!("/public/v1/tasks/{id}/announcement")).await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["pool_hash"], sealed["pool_hash"]);
    let page = app
        .client
        .get(format!("{}/tasks/{id}/announcement", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    for d in [MI, HEALTH] {
        app.post(&path("reveals"), &app.coordinator(d), reveal(d))
            .await
            .expect(201);
    }
    clock.set(instant("2023-09-15T11:05:00Z"));
    app.post(&path("reveals"), &mi, beacon(ROUND_657413.1))
        .await
        .expect(201);
    let drawn = app
        .post(&path("draw"), &mi, json!(null))
        .await
        .expect(200)
        .body;
    let selections = drawn["selections"].as_array().unwrap();
    assert_eq!(selections.len(), 5, "{drawn}");
    for s in selections {
        assert!(s["leader"].is_null(), "{s}");
        assert_eq!(s["team"], json!([]), "{s}");
    }
    let view = app
        .get(&format!("/api/v1/tasks/{id}"), &app.auditor())
        .await
        .expect(200)
        .body;
    assert_eq!(view["selections"], drawn["selections"]);
    // No team to replace an inspector in.
    let inst = selections[0]["institution"].as_str().unwrap();
    app.post(
        &path("replacements"),
        &mi,
        json!({"institution": inst, "department": MI, "out": "x", "reason": "生病"}),
    )
    .await
    .expect_problem_field(422, "department");

    let summary = suiji::draw::v2::parse_bundle(&bundle(&app, &id).await)
        .unwrap()
        .verify()
        .unwrap();
    assert_eq!(summary.spec, "suiji-draw/2");

    app.post(&path("publish"), &mi, json!(null))
        .await
        .expect(200);
    let r = app
        .client
        .get(format!("{}/public/v1/tasks/{id}/bundle", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let public_bytes = r.bytes().await.unwrap();
    let s = suiji::draw::v2::parse_bundle(&public_bytes)
        .unwrap()
        .verify()
        .unwrap();
    assert_eq!(s.result_hash, summary.result_hash);

    let (status, pv) = public(&app, &format!("/public/v1/tasks/{id}")).await;
    assert_eq!(status, 200, "{pv}");
    let public_selections = pv["selections"].as_array().unwrap();
    assert_eq!(public_selections.len(), 5, "{pv}");
    for s in public_selections {
        assert!(s["leader"].is_null(), "{s}");
        assert_eq!(s["team"], json!([]), "{s}");
        assert!(s["institution"]["name"].is_string(), "{s}");
    }
    let page = app
        .client
        .get(format!("{}/tasks/{id}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("不组队"), "{page}");
    let name = public_selections[0]["institution"]["name"]
        .as_str()
        .unwrap();
    assert!(page.contains(name), "{page}");
    let feed = app
        .client
        .get(format!("{}/public/v1/feed.atom", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), 200);
    assert!(feed.text().await.unwrap().contains("复查抽样"));

    // Results of a sample without teams: recorded, published, and in results.csv.
    for s in selections {
        let inst = s["institution"].as_str().unwrap();
        app.send(
            reqwest::Method::PUT,
            &path(&format!("results/{inst}")),
            Some(&mi),
            Some(&json!({"category": "no_problem", "inspection_date": "2023-08-15"})),
            &[],
        )
        .await
        .expect(201);
    }
    let closed = app
        .post(&path("results/publish"), &mi, json!(null))
        .await
        .expect(200)
        .body;
    assert_eq!(closed["state"], "closed");
    let csv = app
        .client
        .get(format!("{}/public/v1/results.csv", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    let rows: Vec<&str> = csv.lines().filter(|l| l.contains(&id)).collect();
    assert_eq!(rows.len(), 5, "{csv}");
    assert!(rows.iter().any(|r| r.contains(inst)), "{csv}");
    let (_, pv) = public(&app, &format!("/public/v1/tasks/{id}")).await;
    for s in pv["selections"].as_array().unwrap() {
        assert!(s["leader"].is_null(), "{s}");
        assert!(s["result"].is_object(), "{s}");
    }
}

/// A sample without teams may rest on the beacon alone (no department secret at all);
/// suiji-draw/1 still needs departments.
#[tokio::test]
async fn a_sample_without_teams_may_rest_on_the_beacon_alone() {
    let (app, clock) = spawn_app_at(SEALED_AT).await;
    seed_003_county(&app).await;
    let mi = app.coordinator(MI);
    let mut body = seed_003_task_v2(DEADLINE);
    body["departments"] = json!([]);
    body["entropy_plan"] = json!([{"source": "beacon:drand-quicknet", "round": ROUND_657413.0}]);
    let mut v1 = seed_003_task();
    v1["departments"] = json!([]);
    app.post("/api/v1/tasks", &mi, v1)
        .await
        .expect_problem_field(422, "departments");
    let id = create_task(&app, body).await;
    let path = |step: &str| format!("/api/v1/tasks/{id}/{step}");
    let sealed = app
        .post(&path("seal"), &mi, json!(null))
        .await
        .expect(200)
        .body;
    assert_eq!(sealed["trust"]["level"], "beacon");
    clock.set(instant("2023-09-15T11:05:00Z"));
    app.post(&path("reveals"), &mi, beacon(ROUND_657413.1))
        .await
        .expect(201);
    let drawn = app
        .post(&path("draw"), &mi, json!(null))
        .await
        .expect(200)
        .body;
    assert_eq!(drawn["forfeited"], json!([]));
    let selections = drawn["selections"].as_array().unwrap();
    assert_eq!(selections.len(), 5, "{drawn}");
    assert!(selections.iter().all(|s| s["leader"].is_null()));
    let summary = suiji::draw::v2::parse_bundle(&bundle(&app, &id).await)
        .unwrap()
        .verify()
        .unwrap();
    assert_eq!(summary.spec, "suiji-draw/2");
}
