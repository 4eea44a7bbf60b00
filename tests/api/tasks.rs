//! Joint draw tasks end to end over HTTP.

use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

/// The seed 003 helpers moved to `helpers.rs` (the scenario builder); re-exported for the
/// modules that still import them from here.
pub use crate::helpers::{
    BEACON, HEALTH, MI, MR, bundle, commit_all, commitment, create_task, reveal_all, secret,
    seed_003_county, seed_003_task,
};

#[tokio::test]
async fn seed_003_joint_draw_end_to_end() {
    let app = spawn_app().await;
    let Scenario {
        county, id, task, ..
    } = Scenario::seed003(&app).await.drawn().await;
    assert_eq!(task["state"], "drawn");
    let selections = task["selections"].as_array().unwrap();
    let in_stratum = |s: &str| selections.iter().filter(|x| x["stratum"] == s).count();
    assert_eq!(
        in_stratum("designated_hospitals"),
        1,
        "7 hospitals at 5 % → 1"
    );
    assert_eq!(
        in_stratum("retail_pharmacies"),
        4,
        "72 pharmacies at 5 % → 4"
    );
    for s in selections {
        let inst = s["institution"].as_str().unwrap();
        assert!(
            county
                .hospitals
                .iter()
                .chain(&county.pharmacies)
                .any(|i| i == inst)
        );
        let team = s["team"].as_array().unwrap();
        let sizes: Vec<(String, usize)> = team
            .iter()
            .map(|t| {
                (
                    t["department"].as_str().unwrap().to_string(),
                    t["inspectors"].as_array().unwrap().len(),
                )
            })
            .collect();
        assert_eq!(
            sizes,
            vec![(HEALTH.into(), 1), (MR.into(), 1), (MI.into(), 2)],
            "teams in snapshot order (departments sorted by code)"
        );
        let mi_team = team.iter().find(|t| t["department"] == MI).unwrap();
        assert_eq!(
            s["leader"], mi_team["inspectors"][0],
            "the leader is from the lead department"
        );
    }
    assert_eq!(task["pool_hash"].as_str().unwrap().len(), 64);
    assert_eq!(task["seed"].as_str().unwrap().len(), 64);

    // The bundle verifies, in the library and with the command an auditor runs.
    let bytes = bundle(&app, &id).await;
    let parsed: suiji::draw::Bundle = serde_json::from_slice(&bytes).unwrap();
    let verified = suiji::draw::verify(&parsed).expect("bundle verifies");
    assert_eq!(verified.selections, 5);
    assert_eq!(verified.pool_hash, task["pool_hash"].as_str().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bundle.json");
    std::fs::write(&file, &bytes).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_suiji"))
        .arg("verify")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(task["seed"].as_str().unwrap()));

    // A registry change after sealing changes nothing in the task.
    app.institution(institution_body(500, "retail_pharmacy", "150602"))
        .await;
    assert_eq!(bundle(&app, &id).await, bytes);

    // The audit log holds every step, and the chain holds.
    let log = app
        .get(
            &format!("/api/v1/audit-log?object_id={id}&limit=500"),
            &app.auditor(),
        )
        .await
        .expect(200);
    let actions: Vec<&str> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "task.create",
            "task.commit",
            "task.commit",
            "task.commit",
            "task.seal",
            "task.reveal",
            "task.reveal",
            "task.reveal",
            "task.reveal",
            "task.draw"
        ]
    );
    app.audit_len().await;
}

#[tokio::test]
async fn steps_in_the_wrong_state_or_by_the_wrong_people_are_refused() {
    let app = spawn_app().await;
    seed_003_county(&app).await;
    let mi = app.coordinator(MI);
    // Only the lead department (or an admin) creates the task.
    app.post("/api/v1/tasks", &app.coordinator(HEALTH), seed_003_task())
        .await
        .expect(403);
    let id = create_task(&app, seed_003_task()).await;
    let path = |step: &str| format!("/api/v1/tasks/{id}/{step}");
    // Draw and reveal need a sealed task.
    let r = app.post(&path("draw"), &mi, json!(null)).await.expect(409);
    assert_eq!(r.body["current_state"], "draft");
    app.post(
        &path("reveals"),
        &mi,
        json!({"source": "department:medical_insurance", "value": secret(MI)}),
    )
    .await
    .expect(409);
    // Sealing waits for every department's commitment.
    commit_all(&app, &id, &[MI, HEALTH]).await;
    let r = app.post(&path("seal"), &mi, json!(null)).await.expect(409);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("department:market_regulation")
    );
    // A department commits only for itself, once, with 64 hex digits.
    app.post(
        &path("commitments"),
        &app.coordinator(HEALTH),
        json!({"source": "department:market_regulation", "commitment": commitment(MR)}),
    )
    .await
    .expect(403);
    app.post(
        &path("commitments"),
        &app.coordinator(MR),
        json!({"source": "department:market_regulation", "commitment": "xyz"}),
    )
    .await
    .expect_problem_field(422, "commitment");
    app.post(
        &path("commitments"),
        &app.coordinator(MR),
        json!({"source": "beacon:drand-quicknet", "commitment": commitment(MR)}),
    )
    .await
    .expect_problem_field(422, "source");
    app.post(
        &path("commitments"),
        &app.coordinator(HEALTH),
        json!({"source": "department:health", "commitment": commitment(MR)}),
    )
    .await
    .expect(409);
    commit_all(&app, &id, &[MR]).await;
    app.post(&path("seal"), &app.coordinator(HEALTH), json!(null))
        .await
        .expect(403);
    app.post(&path("seal"), &mi, json!(null)).await.expect(200);
    let r = app.post(&path("seal"), &mi, json!(null)).await.expect(409);
    assert_eq!(r.body["current_state"], "sealed");
    app.post(
        &path("commitments"),
        &app.coordinator(MR),
        json!({"source": "department:market_regulation", "commitment": commitment(MR)}),
    )
    .await
    .expect(409);
    // A reveal that does not match its commitment is refused and changes nothing.
    let before = app.audit_len().await;
    let r = app
        .post(
            &path("reveals"),
            &app.coordinator(HEALTH),
            json!({"source": "department:health", "value": secret(MR)}),
        )
        .await
        .expect_problem_field(422, "value");
    assert!(r.body["detail"].as_str().unwrap().contains("commitment"));
    assert_eq!(app.audit_len().await, before);
    app.post(
        &path("reveals"),
        &app.coordinator(HEALTH),
        json!({"source": "beacon:drand-quicknet", "value": BEACON}),
    )
    .await
    .expect(403);
    app.post(
        &path("reveals"),
        &mi,
        json!({"source": "beacon:other", "value": BEACON}),
    )
    .await
    .expect_problem_field(422, "source");
    // Drawing waits for every reveal.
    reveal_all(&app, &id, &[MI, HEALTH, MR], false).await;
    let r = app.post(&path("draw"), &mi, json!(null)).await.expect(409);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("beacon:drand-quicknet")
    );
    app.post(
        &path("reveals"),
        &app.coordinator(HEALTH),
        json!({"source": "department:health", "value": secret(HEALTH)}),
    )
    .await
    .expect(409);
    reveal_all(&app, &id, &[], true).await;
    app.post(&path("draw"), &mi, json!(null)).await.expect(200);
    // After the draw: no second draw, no cancel.
    let r = app.post(&path("draw"), &mi, json!(null)).await.expect(409);
    assert_eq!(r.body["current_state"], "drawn");
    app.post(&path("cancel"), &mi, json!({"reason": "x"}))
        .await
        .expect(409);
    app.get("/api/v1/tasks/nope", &mi).await.expect(404);
}

#[tokio::test]
async fn task_configuration_is_validated() {
    let app = spawn_app().await;
    let mi = app.admin();
    let bad = |f: &dyn Fn(&mut Value)| {
        let mut t = seed_003_task();
        f(&mut t);
        t
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            bad(&|t| t["strata"][0]["ratio"] = json!({"num": 3, "den": 2})),
            "strata[0].ratio",
        ),
        (
            bad(&|t| t["strata"][0]["ratio"] = json!({"num": 1, "den": 0})),
            "strata[0].ratio.den",
        ),
        (bad(&|t| t["strata"] = json!([])), "strata"),
        (
            bad(&|t| t["inspection_end"] = json!("2023-07-01")),
            "inspection_end",
        ),
        (
            bad(&|t| t["inspection_end"] = json!("2023-02-30")),
            "inspection_end",
        ),
        (bad(&|t| t["items"] = json!(["NO-SUCH-ITEM"])), "items[0]"),
        (
            bad(&|t| t["departments"] = json!([{"code": "medical_insurance", "team_size": 1}])),
            "departments",
        ),
        (
            bad(&|t| t["lead_department"] = json!("tax")),
            "lead_department",
        ),
        (
            bad(&|t| {
                t["departments"][1]["code"] = json!("tax");
                t["entropy_plan"] = json!([{"source": "department:medical_insurance"}]);
            }),
            "departments[1].code",
        ),
        (
            bad(&|t| t["entropy_plan"][3] = json!({"source": "beacon:drand-quicknet"})),
            "entropy_plan[3].note",
        ),
        (
            bad(&|t| t["entropy_plan"][0] = json!({"source": "department:tax"})),
            "entropy_plan[0].source",
        ),
        (bad(&|t| t["entropy_plan"] = json!([])), "entropy_plan"),
        (
            bad(&|t| t["strata"][1]["id"] = json!("designated_hospitals")),
            "strata[1].id",
        ),
        (
            bad(&|t| t["strata"][0]["filter"]["kind"] = json!(["castle"])),
            "strata[0].filter.kind[0]",
        ),
        (
            bad(&|t| t["strata"][1]["filter"]["region_prefix"] = json!(["15060"])),
            "strata[1].filter.region_prefix[0]",
        ),
        (bad(&|t| t["strata"][0]["max"] = json!(0)), "strata[0].max"),
        (
            bad(&|t| t["max_assignments_per_inspector"] = json!(0)),
            "max_assignments_per_inspector",
        ),
    ];
    for (body, field) in cases {
        app.post("/api/v1/tasks", &mi, body)
            .await
            .expect_problem_field(422, field);
    }
    let r = app.get("/api/v1/tasks", &mi).await.expect(200);
    assert_eq!(r.body["items"], json!([]), "nothing was created");
}

#[tokio::test]
async fn sealing_refuses_pools_where_teams_cannot_be_formed() {
    let app = spawn_app().await;
    let admin = app.admin();
    let a = app
        .institution(institution_body(1, "designated_hospital", "150602"))
        .await;
    let b = app
        .institution(institution_body(2, "designated_hospital", "150621"))
        .await;
    // Health has one inspector, in conflict with A; medical insurance has two in 150621.
    let mut h = inspector_body(HEALTH, "WJ-1", "150602");
    h["conflicts"] = json!([{"institution": a, "reason": "原工作单位"}]);
    app.inspector(h).await;
    app.inspector(inspector_body(MI, "YB-1", "150621")).await;
    app.inspector(inspector_body(MI, "YB-2", "150621")).await;
    let mut task = seed_003_task();
    task["departments"] = json!([{"code": MI, "team_size": 1}, {"code": HEALTH, "team_size": 1}]);
    task["strata"] = json!([{"id": "all", "ratio": {"num": 1, "den": 1}, "min": 0, "max": null}]);
    task["cross_region"] = json!(true);
    task["entropy_plan"] = json!([{"source": "department:medical_insurance"}]);
    let id = create_task(&app, task).await;
    commit_all(&app, &id, &[MI]).await;
    let r = app
        .post(&format!("/api/v1/tasks/{id}/seal"), &admin, json!(null))
        .await
        .expect(422);
    assert_eq!(r.body["type"], "urn:suiji:problem:infeasible-pool");
    let mut pairs: Vec<(String, String)> = r.body["infeasible"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["institution"].as_str().unwrap().into(),
                p["department"].as_str().unwrap().into(),
            )
        })
        .collect();
    pairs.sort();
    let mut expected = vec![(a.clone(), HEALTH.to_string()), (b.clone(), MI.to_string())];
    expected.sort();
    assert_eq!(
        pairs, expected,
        "A: health conflict; B: both MI inspectors are from B's region"
    );
    let t = app
        .get(&format!("/api/v1/tasks/{id}"), &admin)
        .await
        .expect(200);
    assert_eq!(t.body["state"], "draft", "nothing changed");
    // Cancel keeps the record, with its reason.
    let r = app
        .post(
            &format!("/api/v1/tasks/{id}/cancel"),
            &admin,
            json!({"reason": "registry incomplete"}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["state"], "cancelled");
    assert_eq!(r.body["cancel_reason"], "registry incomplete");
    app.post(&format!("/api/v1/tasks/{id}/seal"), &admin, json!(null))
        .await
        .expect(409);
}

#[tokio::test]
async fn concurrent_draws_make_exactly_one_draw() {
    let app = spawn_app().await;
    seed_003_county(&app).await;
    let id = create_task(&app, seed_003_task()).await;
    commit_all(&app, &id, &[MI, HEALTH, MR]).await;
    app.post(
        &format!("/api/v1/tasks/{id}/seal"),
        &app.coordinator(MI),
        json!(null),
    )
    .await
    .expect(200);
    reveal_all(&app, &id, &[MI, HEALTH, MR], true).await;
    let fire = |key: Option<&'static str>| {
        let client = app.client.clone();
        let url = format!("{}/api/v1/tasks/{id}/draw", app.base);
        let token = app.coordinator(MI);
        tokio::spawn(async move {
            let mut req = client.post(url).bearer_auth(token);
            if let Some(k) = key {
                req = req.header("idempotency-key", k);
            }
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            (status, body)
        })
    };
    let mut handles = Vec::new();
    for i in 0..16 {
        handles.push(fire(if i % 2 == 0 { Some("draw-once") } else { None }));
    }
    let mut seeds = Vec::new();
    let mut ok = 0;
    for h in handles {
        let (status, body) = h.await.unwrap();
        match status {
            200 => {
                ok += 1;
                seeds.push(body["seed"].as_str().unwrap().to_string());
            }
            409 => assert_eq!(body["current_state"], "drawn"),
            other => panic!("unexpected status {other}: {body}"),
        }
    }
    assert!(ok >= 1);
    seeds.dedup();
    assert_eq!(
        seeds.len(),
        1,
        "every successful answer shows the same draw"
    );
    // The same key later gets the same answer; another key gets 409.
    let again = app
        .send(
            Method::POST,
            &format!("/api/v1/tasks/{id}/draw"),
            Some(&app.coordinator(MI)),
            None,
            &[("idempotency-key", "draw-once")],
        )
        .await;
    if again.status == 200 {
        assert_eq!(again.body["seed"].as_str().unwrap(), seeds[0]);
    } else {
        // The first winner drew without a key.
        assert_eq!(again.status, 409);
    }
    let log = app
        .get(
            &format!("/api/v1/audit-log?object_id={id}&action=task.draw"),
            &app.auditor(),
        )
        .await
        .expect(200);
    assert_eq!(
        log.body["items"].as_array().unwrap().len(),
        1,
        "one draw in the audit log"
    );
}

#[tokio::test]
async fn replacements_are_drawn_and_chain() {
    let app = spawn_app().await;
    let Scenario { id, task, .. } = Scenario::seed003(&app).await.drawn().await;
    let sel = &task["selections"][0];
    let inst = sel["institution"].as_str().unwrap().to_string();
    let team = |t: &Value, dept: &str| -> Vec<String> {
        t["selections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["institution"] == inst.as_str())
            .unwrap()["team"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["department"] == dept)
            .unwrap()["inspectors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_str().unwrap().to_string())
            .collect()
    };
    let path = format!("/api/v1/tasks/{id}/replacements");
    let mi_team = team(&task, MI);
    let leader = mi_team[0].clone();
    // Bad requests name the field.
    app.post(
        &path,
        &app.coordinator(MI),
        json!({"institution": "nope", "department": MI, "out": leader, "reason": "x"}),
    )
    .await
    .expect_problem_field(422, "institution");
    app.post(
        &path,
        &app.coordinator(MI),
        json!({"institution": inst, "department": MI, "out": "nobody", "reason": "x"}),
    )
    .await
    .expect_problem_field(422, "out");
    app.post(
        &path,
        &app.coordinator(MI),
        json!({"institution": inst, "department": MI, "out": leader, "reason": ""}),
    )
    .await
    .expect_problem_field(422, "reason");
    app.post(
        &path,
        &app.coordinator(HEALTH),
        json!({"institution": inst, "department": MI, "out": leader, "reason": "x"}),
    )
    .await
    .expect(403);
    // Replace the leader: the substitute takes the leader's place.
    let r = app
        .post(&path, &app.coordinator(MI), json!({"institution": inst, "department": MI, "out": leader, "reason": "回避：亲属关系"}))
        .await
        .expect(201);
    assert_eq!(r.body["seq"], 1);
    let first_in = r.body["in"].as_str().unwrap().to_string();
    assert!(!mi_team.contains(&first_in));
    let t = app
        .get(&format!("/api/v1/tasks/{id}"), &app.auditor())
        .await
        .expect(200);
    assert_eq!(team(&t.body, MI)[0], first_in);
    assert_eq!(
        t.body["selections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["institution"] == inst.as_str())
            .unwrap()["leader"],
        first_in.as_str()
    );
    // Keep replacing the health inspector until no one is left (3 health inspectors).
    let mut seq = 1;
    let mut refused = false;
    for _ in 0..4 {
        let current = team(
            &app.get(&format!("/api/v1/tasks/{id}"), &app.auditor())
                .await
                .body,
            HEALTH,
        );
        let r = app
            .post(&path, &app.coordinator(HEALTH), json!({"institution": inst, "department": HEALTH, "out": current[0], "reason": "病假"}))
            .await;
        if r.status == 409 {
            refused = true;
            break;
        }
        r.expect(201);
        seq += 1;
    }
    assert!(
        refused,
        "with 3 health inspectors, the third replacement has no one left"
    );
    assert_eq!(seq, 3);
    // The bundle with its replacements verifies.
    let bytes = bundle(&app, &id).await;
    let parsed: suiji::draw::Bundle = serde_json::from_slice(&bytes).unwrap();
    let v = suiji::draw::verify(&parsed).expect("verifies");
    assert_eq!(v.replacements, 3);
}

#[tokio::test]
async fn draws_are_immutable_in_the_database() {
    use sqlx::Connection;
    let app = spawn_app().await;
    let id = Scenario::seed003(&app).await.drawn().await.id;
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    for sql in [
        "UPDATE task_results SET result = '{}'",
        "DELETE FROM task_results",
        "UPDATE task_snapshots SET snapshot = '{}'",
    ] {
        assert!(
            sqlx::query(sql).execute(&mut db).await.is_err(),
            "{sql} must be refused"
        );
    }
    let bytes = bundle(&app, &id).await;
    let parsed: suiji::draw::Bundle = serde_json::from_slice(&bytes).unwrap();
    suiji::draw::verify(&parsed).unwrap();
}

#[tokio::test]
async fn teams_read_by_name_and_replacements_by_codes() {
    let app = spawn_app().await;
    let Scenario { id, task, .. } = Scenario::seed003(&app).await.drawn().await;
    let sel = &task["selections"][0];
    assert!(
        sel["institution_name"]
            .as_str()
            .unwrap()
            .starts_with("机构")
    );
    let credit_code = sel["credit_code"].as_str().unwrap().to_string();
    let health = sel["team"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["department"] == HEALTH)
        .unwrap();
    let member = &health["members"][0];
    assert_eq!(member["id"], health["inspectors"][0]);
    assert!(member["name"].as_str().unwrap().starts_with("检查员"));
    let cert = member["certificate_no"].as_str().unwrap().to_string();
    // A coordinator names the institution by credit code and the inspector by certificate.
    let r = app
        .post(
            &format!("/api/v1/tasks/{id}/replacements"),
            &app.coordinator(HEALTH),
            json!({"institution": credit_code, "department": HEALTH, "out": cert, "reason": "回避"}),
        )
        .await
        .expect(201);
    assert_eq!(r.body["institution"], sel["institution"]);
    assert_eq!(r.body["out"], health["inspectors"][0]);
    let bytes = bundle(&app, &id).await;
    let parsed: suiji::draw::Bundle = serde_json::from_slice(&bytes).unwrap();
    suiji::draw::verify(&parsed).unwrap();
}

#[tokio::test]
async fn a_replayed_draw_key_gets_the_original_answer_byte_for_byte() {
    let app = spawn_app().await;
    let id = Scenario::seed003(&app).await.revealed().await.id;
    let draw = |key: &'static str| {
        let path = format!("/api/v1/tasks/{id}/draw");
        let app = &app;
        async move {
            app.send(
                Method::POST,
                &path,
                Some(&app.coordinator(MI)),
                None,
                &[("idempotency-key", key)],
            )
            .await
        }
    };
    let first = draw("draw-2023-2").await.expect(200);
    assert_eq!(first.body["state"], "drawn");
    // The task changes after the draw: a replacement and the publication.
    let sel = &first.body["selections"][0];
    let leader = sel["leader"].as_str().unwrap();
    app.post(
        &format!("/api/v1/tasks/{id}/replacements"),
        &app.coordinator(MI),
        json!({"institution": sel["institution"], "department": MI, "out": leader,
               "reason": "回避"}),
    )
    .await
    .expect(201);
    app.post(
        &format!("/api/v1/tasks/{id}/publish"),
        &app.coordinator(MI),
        json!(null),
    )
    .await
    .expect(200);
    // The replay answers what the draw answered then, not the task as it is now.
    let replay = draw("draw-2023-2").await.expect(200);
    assert_eq!(replay.text, first.text, "the replay is byte-identical");
    assert_eq!(replay.header("content-type"), "application/json");
    let now = app
        .get(&format!("/api/v1/tasks/{id}"), &app.auditor())
        .await
        .expect(200);
    assert_eq!(now.body["state"], "published");
    assert_ne!(now.text, replay.text);
    // Another key, or none, is a second draw: refused with the state.
    let other = draw("another-key").await.expect(409);
    assert_eq!(other.body["current_state"], "published");
    app.post(
        &format!("/api/v1/tasks/{id}/draw"),
        &app.coordinator(MI),
        json!(null),
    )
    .await
    .expect(409);
    // A bad key names the header.
    app.send(
        Method::POST,
        &format!("/api/v1/tasks/{id}/draw"),
        Some(&app.coordinator(MI)),
        None,
        &[("idempotency-key", "   ")],
    )
    .await
    .expect_problem_field(422, "Idempotency-Key");
    // Only the lead may replay.
    app.send(
        Method::POST,
        &format!("/api/v1/tasks/{id}/draw"),
        Some(&app.coordinator(HEALTH)),
        None,
        &[("idempotency-key", "draw-2023-2")],
    )
    .await
    .expect(403);
}

#[tokio::test]
async fn a_closed_task_refuses_every_earlier_step() {
    let app = spawn_app().await;
    let s = Scenario::seed003(&app).await.with_results().await;
    let task = app
        .get(&format!("/api/v1/tasks/{}", s.id), &app.auditor())
        .await
        .expect(200);
    assert_eq!(task.body["state"], "closed");
    for step in ["seal", "draw", "publish"] {
        let r = app
            .post(
                &format!("/api/v1/tasks/{}/{step}", s.id),
                &app.coordinator(MI),
                json!(null),
            )
            .await
            .expect(409);
        assert_eq!(r.body["current_state"], "closed", "{step}");
    }
    app.post(
        &format!("/api/v1/tasks/{}/cancel", s.id),
        &app.coordinator(MI),
        json!({"reason": "late"}),
    )
    .await
    .expect(409);
}
