//! Issue 15 parts 4–5: the clue ledger (举报线索台账: 受理、交办、查处、反馈 with time
//! limits, seed 001) and a clue turned into a targeted inspection.

use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

const SEALED_AT: &str = "2023-09-15T10:00:00Z";
const DEADLINE: &str = "2023-09-15T10:30:00Z";

/// A targeted task's body without `mode` and `targets` (the clue gives them).
fn task_body() -> Value {
    let mut t = seed_003_task_v2(DEADLINE);
    let o = t.as_object_mut().unwrap();
    o.remove("strata");
    o.insert("title".into(), json!("2023年举报线索定向检查"));
    t
}

async fn public(app: &TestApp, path: &str) -> (u16, String) {
    let r = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

const PHONE: &str = "13800138000";
const NAME: &str = "王举报";

#[tokio::test]
async fn a_clue_is_received_assigned_turned_into_a_targeted_inspection_and_answered() {
    let (app, clock) = spawn_app_at(SEALED_AT).await;
    let county = seed_003_county(&app).await;
    let subject = county.hospitals[0].clone();
    let mi = app.coordinator(MI);
    let audit = app.audit_len().await;
    // Bad input: 422 naming the field; an auditor or another department: 403; nothing
    // written.
    let good = json!({"source": "hotline", "subject": {"institution_id": subject},
        "summary": "举报该院挂床住院，2023年8月多名参保人住院期间不在院",
        "reporter": {"name": NAME, "phone": PHONE}});
    let mut empty = good.clone();
    empty["summary"] = json!("  ");
    app.post("/api/v1/clues", &mi, empty)
        .await
        .expect_problem_field(422, "summary");
    let mut no_subject = good.clone();
    no_subject["subject"] = json!({});
    app.post("/api/v1/clues", &mi, no_subject)
        .await
        .expect_problem_field(422, "subject.institution_id");
    let mut unknown = good.clone();
    unknown["subject"] = json!({"institution_id": "no-such-institution"});
    app.post("/api/v1/clues", &mi, unknown)
        .await
        .expect_problem_field(422, "subject.institution_id");
    let mut bad_source = good.clone();
    bad_source["source"] = json!("rumour");
    app.post("/api/v1/clues", &mi, bad_source).await.expect(422);
    app.post("/api/v1/clues", &app.auditor(), good.clone())
        .await
        .expect(403);
    assert_eq!(app.audit_len().await, audit, "a refused clue wrote nothing");

    // Received on Friday 2023-09-15: to be assigned within 5 working days (09-22).
    let c = app
        .post("/api/v1/clues", &mi, good.clone())
        .await
        .expect(201)
        .body;
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["reference"], "XS-20230915-001", "{c}");
    assert_eq!(c["received_on"], "2023-09-15");
    assert_eq!(c["state"], "received");
    assert_eq!(c["next_step"], "assign");
    assert_eq!(c["due_date"], "2023-09-22", "{c}");
    assert_eq!(c["subject"]["name"], "机构0");
    assert_eq!(
        c["reporter"]["phone"], PHONE,
        "the handler sees the reporter"
    );
    assert_eq!(app.audit_len().await, audit + 1);
    // The reporter stays with those who handle the clue: not in a list, not to auditors.
    let list = app.get("/api/v1/clues", &mi).await.expect(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert!(
        !list.text.contains(PHONE) && !list.text.contains(NAME),
        "{}",
        list.text
    );
    let a = app
        .get(&format!("/api/v1/clues/{id}"), &app.auditor())
        .await
        .expect(200);
    assert!(
        !a.text.contains(PHONE) && a.body["reporter"].is_null(),
        "{}",
        a.text
    );
    assert_eq!(a.body["anonymous"], false);
    // Another department's coordinator neither reads nor handles it.
    app.get(&format!("/api/v1/clues/{id}"), &app.coordinator(HEALTH))
        .await
        .expect(403);

    // Steps out of order: 409, nothing written.
    let audit = app.audit_len().await;
    app.post(
        &format!("/api/v1/clues/{id}/investigate"),
        &mi,
        json!({"substantiated": true, "finding": "x"}),
    )
    .await
    .expect(409);
    app.post(
        &format!("/api/v1/clues/{id}/answer"),
        &mi,
        json!({"feedback": "x"}),
    )
    .await
    .expect(409);
    app.post(
        &format!("/api/v1/clues/{id}/targeted-task"),
        &mi,
        task_body(),
    )
    .await
    .expect(409);
    app.post(
        &format!("/api/v1/clues/{id}/assign"),
        &app.coordinator(HEALTH),
        json!({"handler": "基金监管科"}),
    )
    .await
    .expect(403);
    app.post(
        &format!("/api/v1/clues/{id}/assign"),
        &mi,
        json!({"handler": ""}),
    )
    .await
    .expect_problem_field(422, "handler");
    assert_eq!(app.audit_len().await, audit);

    // 交办 the same day: to be investigated within 30 working days (National Day holiday
    // 09-29 … 10-06 in between, 10-07 and 10-08 worked): 2023-11-02. Not on a day to come.
    app.post(
        &format!("/api/v1/clues/{id}/assign"),
        &mi,
        json!({"handler": "基金监管科", "assigned_on": "2023-09-18"}),
    )
    .await
    .expect_problem_field(422, "assigned_on");
    let c = app
        .post(
            &format!("/api/v1/clues/{id}/assign"),
            &mi,
            json!({"handler": "基金监管科", "note": "限期查处"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(c["state"], "assigned", "{c}");
    assert_eq!(c["due_date"], "2023-11-02", "{c}");

    // The clue becomes a targeted inspection: one call, reason kind `clue`, linked both
    // ways; a body that sets its own targets or mode is refused.
    let mut own_targets = task_body();
    own_targets["targets"] =
        json!([{"institution": subject, "reason_kind": "complaint", "reason": "x"}]);
    app.post(
        &format!("/api/v1/clues/{id}/targeted-task"),
        &mi,
        own_targets,
    )
    .await
    .expect_problem_field(422, "targets");
    let t = app
        .post(
            &format!("/api/v1/clues/{id}/targeted-task"),
            &mi,
            task_body(),
        )
        .await
        .expect(201)
        .body;
    let task = t["task_id"].as_str().unwrap().to_string();
    assert_eq!(t["clue"]["task"]["task_id"], task.as_str(), "{t}");
    assert!(t["clue"]["task"]["result"].is_null());
    let tv = app
        .get(&format!("/api/v1/tasks/{task}"), &mi)
        .await
        .expect(200)
        .body;
    assert_eq!(tv["mode"], "targeted", "{tv}");
    assert_eq!(tv["targets"][0]["institution"], subject.as_str());
    assert_eq!(tv["targets"][0]["reason_kind"], "clue");
    assert_eq!(tv["targets"][0]["clue"], id.as_str(), "the task links back");
    app.post(
        &format!("/api/v1/clues/{id}/targeted-task"),
        &mi,
        task_body(),
    )
    .await
    .expect(409);
    let by_task = app
        .get(&format!("/api/v1/clues?task_id={task}"), &app.auditor())
        .await
        .expect(200)
        .body;
    assert_eq!(by_task["items"][0]["id"], id.as_str());

    // The targeted task runs its course; its result shows on the clue.
    let path = |step: &str| format!("/api/v1/tasks/{task}/{step}");
    commit_all(&app, &task, &[MI, HEALTH, MR]).await;
    app.post(&path("seal"), &mi, json!(null)).await.expect(200);
    reveal_all(&app, &task, &[MI, HEALTH, MR], false).await;
    clock.set(instant("2023-09-15T11:05:00Z"));
    app.post(
        &path("reveals"),
        &mi,
        json!({"source": "beacon:drand-quicknet", "value": ROUND_657413.1}),
    )
    .await
    .expect(201);
    app.post(&path("draw"), &mi, json!(null)).await.expect(200);
    app.post(&path("publish"), &mi, json!(null))
        .await
        .expect(200);
    let result = json!({"category": "corrected", "inspection_date": "2023-09-20",
        "findings": "挂床住院3例", "amounts": {"fund_recovered_fen": 120_000, "penalty_fen": 0, "violations": 3},
        "handling": ["rectification", "recovery"]});
    app.send(
        Method::PUT,
        &format!("/api/v1/tasks/{task}/results/{subject}"),
        Some(&mi),
        Some(&result),
        &[],
    )
    .await
    .expect(201);
    let c = app
        .get(&format!("/api/v1/clues/{id}"), &mi)
        .await
        .expect(200)
        .body;
    assert_eq!(c["task"]["result"]["category"], "corrected", "{c}");
    assert!(c["task"]["result"]["published_at"].is_null());
    app.post(&path("results/publish"), &mi, json!(null))
        .await
        .expect(200);
    let c = app
        .get(&format!("/api/v1/clues/{id}"), &mi)
        .await
        .expect(200)
        .body;
    assert!(c["task"]["result"]["published_at"].is_string(), "{c}");
    assert_eq!(c["task"]["state"], "closed");

    // 查处 and 反馈: the reporter is answered within 5 working days of the finding. A day
    // still to come is refused.
    app.post(
        &format!("/api/v1/clues/{id}/investigate"),
        &mi,
        json!({"substantiated": true, "finding": "x", "investigated_on": "2023-09-21"}),
    )
    .await
    .expect_problem_field(422, "investigated_on");
    clock.set(instant("2023-09-26T02:00:00Z"));
    let c = app
        .post(
            &format!("/api/v1/clues/{id}/investigate"),
            &mi,
            json!({"substantiated": true, "finding": "经定向检查查实挂床住院3例，追回基金1200元",
                   "investigated_on": "2023-09-21"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(c["state"], "investigated");
    assert_eq!(c["due_date"], "2023-09-28", "{c}");
    app.post(
        &format!("/api/v1/clues/{id}/answer"),
        &mi,
        json!({"feedback": "举报属实，已依法处理", "answered_on": "2023-09-20"}),
    )
    .await
    .expect_problem_field(422, "answered_on");
    let c = app
        .post(
            &format!("/api/v1/clues/{id}/answer"),
            &mi,
            json!({"feedback": "举报属实，已依法处理", "channel": "电话", "answered_on": "2023-09-25"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(c["state"], "answered");
    assert!(c["next_step"].is_null());
    let c = app
        .post(&format!("/api/v1/clues/{id}/close"), &mi, json!({}))
        .await
        .expect(200)
        .body;
    assert_eq!(c["state"], "closed", "{c}");
    assert_eq!(c["closure"]["closed_on"], "2023-09-26");
    assert_eq!(c["closure"]["not_accepted"], false);
    app.post(&format!("/api/v1/clues/{id}/close"), &mi, json!({}))
        .await
        .expect(409);

    // Never public: the task's public page says 举报线索 and nothing of the reporter or
    // the clue's text.
    let (_, page) = public(&app, &format!("/public/v1/tasks/{task}")).await;
    assert!(page.contains("\"clue\""), "{page}");
    for secret in [PHONE, NAME, "多名参保人", id.as_str()] {
        assert!(!page.contains(secret), "{secret} leaked: {page}");
    }
    let (_, portal) = public(&app, &format!("/tasks/{task}")).await;
    assert!(portal.contains("举报线索"), "{portal}");
    assert!(!portal.contains(PHONE) && !portal.contains(NAME));
    let (_, csv) = public(&app, "/public/v1/results.csv").await;
    assert!(!csv.contains(PHONE) && !csv.contains(NAME));
}

#[tokio::test]
async fn a_coordinators_page_of_clues_counts_only_the_clues_it_may_read() {
    // Three clues of medical insurance received before two of health: health's first page
    // of one holds its own first clue, not an empty page cut out of the others'.
    let (app, _clock) = spawn_app_at(SEALED_AT).await;
    let county = seed_003_county(&app).await;
    let (mi, he) = (app.coordinator(MI), app.coordinator(HEALTH));
    let clue = |n: usize| {
        json!({"source": "hotline", "subject": {"institution_id": county.hospitals[n]},
            "summary": format!("举报线索{n}")})
    };
    for (who, n) in [(&mi, 0), (&mi, 1), (&mi, 2), (&he, 3), (&he, 4)] {
        app.post("/api/v1/clues", who, clue(n)).await.expect(201);
    }
    let summaries = |b: &Value| -> Vec<String> {
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["summary"].as_str().unwrap().to_string())
            .collect()
    };
    let page = |q: &'static str| {
        let (app, he) = (&app, &he);
        async move {
            summaries(
                &app.get(&format!("/api/v1/clues?{q}"), he)
                    .await
                    .expect(200)
                    .body,
            )
        }
    };
    assert_eq!(page("limit=1").await, ["举报线索3"]);
    assert_eq!(page("limit=1&offset=1").await, ["举报线索4"]);
    assert!(page("limit=1&offset=2").await.is_empty());
    assert_eq!(page("limit=10").await, ["举报线索3", "举报线索4"]);
    // Those who read everything page over everything.
    let all = app
        .get("/api/v1/clues?limit=2&offset=2", &app.auditor())
        .await
        .expect(200);
    assert_eq!(summaries(&all.body), ["举报线索2", "举报线索3"]);
}

#[tokio::test]
async fn a_clue_goes_overdue_on_the_calendar_across_a_holiday() {
    // Received on Friday 2025-09-26, to be assigned in 5 working days: Sunday 09-28
    // (调休上班), 09-29, 09-30, then the National Day holiday (10-01 … 10-08), 10-09, 10-10.
    let (app, clock) = spawn_app_at("2025-09-26T02:00:00Z").await;
    let mi = app.coordinator(MI);
    let code = credit_code("91150602000000999");
    let c = app
        .post(
            "/api/v1/clues",
            &mi,
            json!({"source": "letter", "summary": "某诊所串换药品",
                   "subject": {"name": "某某诊所", "credit_code": code}}),
        )
        .await
        .expect(201)
        .body;
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["due_date"], "2025-10-10", "{c}");
    assert_eq!(c["anonymous"], true);
    assert_eq!(c["subject"]["credit_code"], code.as_str());
    // Mid-holiday: not overdue.
    clock.set(instant("2025-10-08T04:00:00Z"));
    let g = app
        .get(&format!("/api/v1/clues/{id}"), &mi)
        .await
        .expect(200)
        .body;
    assert_eq!(g["current_state"], "received", "{g}");
    clock.set(instant("2025-10-10T15:00:00Z")); // 23:00 in China, still the due day
    let g = app
        .get(&format!("/api/v1/clues/{id}"), &mi)
        .await
        .expect(200)
        .body;
    assert_eq!(g["current_state"], "received");
    let none = app
        .get("/api/v1/clues?overdue=true", &mi)
        .await
        .expect(200)
        .body;
    assert_eq!(none["items"].as_array().unwrap().len(), 0, "{none}");
    clock.set(instant("2025-10-10T16:30:00Z")); // 00:30 on 10-11 in China
    let g = app
        .get(&format!("/api/v1/clues/{id}"), &mi)
        .await
        .expect(200)
        .body;
    assert_eq!(g["current_state"], "overdue", "{g}");
    let late = app
        .get("/api/v1/clues?overdue=true", &mi)
        .await
        .expect(200)
        .body;
    assert_eq!(late["items"].as_array().unwrap().len(), 1, "{late}");
    assert_eq!(
        late["items"][0]["working_days_late"], 1,
        "Saturday 10-11 is 调休上班"
    );
    let same = app
        .get("/api/v1/clues?state=overdue", &mi)
        .await
        .expect(200)
        .body;
    assert_eq!(same["items"], late["items"]);
    // In the overdue report, as the rectifications are.
    let o = app
        .get("/api/v1/reports/overdue?as_of=2025-10-11", &app.auditor())
        .await
        .expect(200)
        .body;
    let clues = o["clues"].as_array().unwrap();
    assert_eq!(clues.len(), 1, "{o}");
    assert_eq!(clues[0]["clue_id"], id.as_str());
    assert_eq!(clues[0]["step"], "assign");
    assert_eq!(clues[0]["working_days_late"], 1);
    let o = app
        .get("/api/v1/reports/overdue?as_of=2025-10-10", &app.auditor())
        .await
        .expect(200)
        .body;
    assert!(o.get("clues").is_none(), "{o}");

    // Assigned late: the next step has its own due date, and it is no longer overdue.
    let c = app
        .post(
            &format!("/api/v1/clues/{id}/assign"),
            &mi,
            json!({"handler": "稽核科"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(c["current_state"], "assigned", "{c}");
    // A subject outside the registry cannot become a targeted inspection.
    let r = app
        .post(
            &format!("/api/v1/clues/{id}/targeted-task"),
            &mi,
            task_body(),
        )
        .await
        .expect(409);
    assert!(r.text.contains("registered"), "{}", r.text);

    // 不予受理: a received clue closed at once, with the reason.
    let d = app
        .post(
            "/api/v1/clues",
            &mi,
            json!({"source": "online", "summary": "与医保基金无关的咨询", "subject": {"name": "某公司"},
                   "reference": "2025-XS-088"}),
        )
        .await
        .expect(201)
        .body;
    let did = d["id"].as_str().unwrap();
    assert_eq!(d["reference"], "2025-XS-088");
    app.post(
        "/api/v1/clues",
        &mi,
        json!({"source": "online", "summary": "x", "subject": {"name": "y"}, "reference": "2025-XS-088"}),
    )
    .await
    .expect(409);
    app.post(&format!("/api/v1/clues/{did}/close"), &mi, json!({}))
        .await
        .expect_problem_field(422, "note");
    let d = app
        .post(
            &format!("/api/v1/clues/{did}/close"),
            &mi,
            json!({"note": "不属于医保基金监管范围，不予受理"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(d["closure"]["not_accepted"], true, "{d}");

    // The time limits are configurable (admins only); new clues take them.
    app.send(
        Method::PUT,
        "/api/v1/settings/clue-time-limits",
        Some(&mi),
        Some(&json!({"assign_within": 3, "investigate_within": 20, "answer_within": 5})),
        &[],
    )
    .await
    .expect(403);
    app.send(
        Method::PUT,
        "/api/v1/settings/clue-time-limits",
        Some(&app.admin()),
        Some(&json!({"assign_within": 0, "investigate_within": 20, "answer_within": 5})),
        &[],
    )
    .await
    .expect_problem_field(422, "assign_within");
    app.send(
        Method::PUT,
        "/api/v1/settings/clue-time-limits",
        Some(&app.admin()),
        Some(&json!({"assign_within": 3, "investigate_within": 20, "answer_within": 5})),
        &[],
    )
    .await
    .expect(200);
    let e = app
        .post(
            "/api/v1/clues",
            &mi,
            json!({"source": "hotline", "summary": "x", "subject": {"name": "y"},
                   "received_on": "2025-10-10"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(e["due_date"], "2025-10-14", "Saturday 10-11 is worked: {e}");
    assert_eq!(e["limits"]["assign_within"], 3);
    // The limit of a list is capped.
    app.get("/api/v1/clues?limit=501", &mi)
        .await
        .expect_problem_field(422, "limit");
}

// ---- objections (异议, issue 15 part 5) ----

const CONTACT: &str = "13900139000";

fn sel<'a>(task: &'a Value, inst: &str) -> &'a Value {
    task["selections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["institution"]["id"] == inst || s["institution"] == inst)
        .unwrap()
}

#[tokio::test]
async fn an_upheld_objection_corrects_the_result_publicly_and_a_rejected_one_changes_nothing() {
    // Filed on Wednesday 2023-09-20: decided within 20 working days, across the National
    // Day holiday (09-29 … 10-06; 10-07 and 10-08 worked): 2023-10-24.
    let (app, _clock) = spawn_app_at("2023-09-20T02:00:00Z").await;
    let s = Scenario::seed003(&app).await.published().await;
    let insts = s.institutions();
    let mi = app.coordinator(MI);
    let first = json!({"category": "corrected", "inspection_date": "2023-08-15", "findings": "挂床住院2例",
        "amounts": {"fund_recovered_fen": 80_000, "penalty_fen": 0, "violations": 2},
        "handling": ["rectification", "recovery"]});
    app.send(
        Method::PUT,
        &format!("/api/v1/tasks/{}/results/{}", s.id, insts[0]),
        Some(&mi),
        Some(&first),
        &[],
    )
    .await
    .expect(201);
    app.post(
        &format!("/api/v1/tasks/{}/results/publish", s.id),
        &mi,
        json!({"institutions": [insts[0]]}),
    )
    .await
    .expect(200);
    let url = |task: &str, inst: &str| format!("/public/v1/tasks/{task}/results/{inst}/objections");
    let objection = json!({"filer_kind": "public",
        "evidence": "公示的追回金额有误：实际追回600元，另200元系医院自行退回，附退款凭证",
        "evidence_link": "https://example.org/refund.pdf", "contact": CONTACT});

    // Bad input changes nothing: an unknown task or result, an unpublished result or task
    // (404), empty evidence or a bad link (422), a body too large (413).
    let audit = app.audit_len().await;
    let draft = app
        .post("/api/v1/tasks", &mi, seed_003_task())
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (task, inst) in [
        ("no-such-task", insts[0].as_str()),
        (s.id.as_str(), "no-such-institution"),
        (s.id.as_str(), insts[1].as_str()),
        (draft.as_str(), insts[0].as_str()),
    ] {
        app.send(Method::POST, &url(task, inst), None, Some(&objection), &[])
            .await
            .expect(404);
    }
    let audit = audit + 1; // the draft task
    let mut empty = objection.clone();
    empty["evidence"] = json!("   ");
    app.send(
        Method::POST,
        &url(&s.id, &insts[0]),
        None,
        Some(&empty),
        &[],
    )
    .await
    .expect_problem_field(422, "evidence");
    let mut link = objection.clone();
    link["evidence_link"] = json!("javascript:alert(1)");
    app.send(Method::POST, &url(&s.id, &insts[0]), None, Some(&link), &[])
        .await
        .expect_problem_field(422, "evidence_link");
    let mut huge = objection.clone();
    huge["evidence"] = json!("证".repeat(12_000));
    app.send(Method::POST, &url(&s.id, &insts[0]), None, Some(&huge), &[])
        .await
        .expect(413);
    assert_eq!(
        app.audit_len().await,
        audit,
        "a refused objection wrote nothing"
    );
    let none = app
        .get("/api/v1/objections", &app.auditor())
        .await
        .expect(200);
    assert_eq!(none.body["items"].as_array().unwrap().len(), 0);

    // Filed: a reference and a token to follow it, due in 20 working days.
    let r = app
        .send(
            Method::POST,
            &url(&s.id, &insts[0]),
            None,
            Some(&objection),
            &[],
        )
        .await
        .expect(201)
        .body;
    let (oid, token) = (
        r["id"].as_str().unwrap().to_string(),
        r["token"].as_str().unwrap().to_string(),
    );
    let reference = r["reference"].as_str().unwrap().to_string();
    assert!(reference.starts_with("YY-20230920-"), "{r}");
    assert_eq!(token.len(), 64);
    assert_eq!(r["due_date"], "2023-10-24", "{r}");
    let status = app
        .send(
            Method::GET,
            r["status_url"].as_str().unwrap(),
            None,
            None,
            &[],
        )
        .await
        .expect(200);
    assert_eq!(status.body["state"], "filed", "{}", status.text);
    assert!(!status.text.contains(CONTACT));
    app.send(
        Method::GET,
        &format!("/public/v1/objections/{oid}?token={}", "0".repeat(64)),
        None,
        None,
        &[],
    )
    .await
    .expect(404);
    // The contact is for the task's lead only.
    let list = app
        .get("/api/v1/objections", &app.auditor())
        .await
        .expect(200);
    assert!(!list.text.contains(CONTACT), "{}", list.text);
    let one = app
        .get(&format!("/api/v1/objections/{oid}"), &app.auditor())
        .await
        .expect(200);
    assert!(!one.text.contains(CONTACT));
    let one = app
        .get(&format!("/api/v1/objections/{oid}"), &mi)
        .await
        .expect(200);
    assert_eq!(one.body["contact"], CONTACT);

    // Undecided on its due day: not overdue; the next working day, in the overdue report
    // for the lead department, without the filer's contact.
    let on_time = app
        .get("/api/v1/reports/overdue?as_of=2023-10-24", &app.auditor())
        .await
        .expect(200);
    assert!(on_time.body.get("objections").is_none(), "{}", on_time.text);
    let late = app
        .get("/api/v1/reports/overdue?as_of=2023-10-25", &app.auditor())
        .await
        .expect(200);
    let o = &late.body["objections"];
    assert_eq!(o.as_array().map(Vec::len), Some(1), "{}", late.text);
    assert_eq!(o[0]["reference"], reference.as_str());
    assert_eq!(o[0]["objection_id"], oid.as_str());
    assert_eq!(o[0]["department"], MI);
    assert_eq!(o[0]["due"], "2023-10-24");
    assert_eq!(o[0]["working_days_late"], 1);
    assert!(!late.text.contains(CONTACT), "{}", late.text);

    // Only the lead decides; upheld needs the corrected result.
    let decision = format!("/api/v1/objections/{oid}/decision");
    let mut corrected = first.clone();
    corrected["amounts"]["fund_recovered_fen"] = json!(60_000);
    app.post(
        &decision,
        &app.coordinator(HEALTH),
        json!({"outcome": "upheld", "reason": "x", "result": corrected}),
    )
    .await
    .expect(403);
    app.post(
        &decision,
        &mi,
        json!({"outcome": "upheld", "reason": "退款凭证属实"}),
    )
    .await
    .expect_problem_field(422, "result");
    app.post(
        &decision,
        &mi,
        json!({"outcome": "upheld", "reason": "退款凭证属实", "result": first}),
    )
    .await
    .expect_problem_field(422, "result");
    let d = app
        .post(
            &decision,
            &mi,
            json!({"outcome": "upheld", "reason": "退款凭证属实，追回金额更正为600元", "result": corrected}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(d["state"], "upheld", "{d}");
    assert_eq!(d["decision"]["correction_version"], 2);
    app.post(
        &decision,
        &mi,
        json!({"outcome": "rejected", "reason": "x"}),
    )
    .await
    .expect(409);

    // Both versions public; the correction names the objection; the outcome is on the
    // result's public page, without the filer's contact.
    let page = app
        .send(
            Method::GET,
            &format!("/public/v1/tasks/{}", s.id),
            None,
            None,
            &[],
        )
        .await
        .expect(200);
    assert!(!page.text.contains(CONTACT), "contact leaked");
    let res = &sel(&page.body, &insts[0])["result"];
    assert_eq!(res["version"], 2, "{res}");
    assert_eq!(res["amounts"]["fund_recovered_fen"], 60_000, "{res}");
    assert!(
        res["correction_reason"]
            .as_str()
            .unwrap()
            .contains(&reference),
        "{res}"
    );
    assert_eq!(res["earlier_versions"][0]["version"], 1);
    assert_eq!(
        res["earlier_versions"][0]["amounts"]["fund_recovered_fen"],
        80_000
    );
    assert_eq!(
        res["objections"][0]["reference"],
        reference.as_str(),
        "{res}"
    );
    assert_eq!(res["objections"][0]["state"], "upheld");
    let portal = app
        .send(Method::GET, &format!("/tasks/{}", s.id), None, None, &[])
        .await
        .expect(200)
        .text;
    assert!(
        portal.contains(&reference) && portal.contains("异议成立"),
        "{portal}"
    );
    assert!(!portal.contains(CONTACT));

    // The institution objects again: rejected, the result stays as it is.
    let mut by_inst = objection.clone();
    by_inst["filer_kind"] = json!("institution");
    by_inst["evidence"] = json!("本院认为挂床住院认定有误");
    let r2 = app
        .send(
            Method::POST,
            &url(&s.id, &insts[0]),
            None,
            Some(&by_inst),
            &[],
        )
        .await
        .expect(201)
        .body;
    assert_eq!(
        app.send(
            Method::GET,
            &format!(
                "/public/v1/objections/{}?token={token}",
                r2["id"].as_str().unwrap()
            ),
            None,
            None,
            &[]
        )
        .await
        .status
        .as_u16(),
        404,
        "one objection's token does not open another"
    );
    let d = app
        .post(
            &format!("/api/v1/objections/{}/decision", r2["id"].as_str().unwrap()),
            &mi,
            json!({"outcome": "rejected", "reason": "住院病历与查房记录证实挂床住院"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(d["state"], "rejected");
    assert!(d["decision"]["correction_version"].is_null());
    let page = app
        .send(
            Method::GET,
            &format!("/public/v1/tasks/{}", s.id),
            None,
            None,
            &[],
        )
        .await
        .expect(200)
        .body;
    let res = &sel(&page, &insts[0])["result"];
    assert_eq!(res["version"], 2, "a rejected objection corrects nothing");
    assert_eq!(res["objections"][1]["state"], "rejected", "{res}");
    assert_eq!(
        res["objections"][1]["decision"]["reason"],
        "住院病历与查房记录证实挂床住院"
    );

    // Rate-limited: with 3 a day per result, the fourth is refused (429) and not kept.
    app.send(
        Method::PUT,
        "/api/v1/settings/objection-rules",
        Some(&app.admin()),
        Some(&json!({"decide_within": 20, "per_result_per_day": 3, "per_hour": 100})),
        &[],
    )
    .await
    .expect(200);
    app.send(
        Method::POST,
        &url(&s.id, &insts[0]),
        None,
        Some(&objection),
        &[],
    )
    .await
    .expect(201);
    let audit = app.audit_len().await;
    app.send(
        Method::POST,
        &url(&s.id, &insts[0]),
        None,
        Some(&objection),
        &[],
    )
    .await
    .expect(429);
    assert_eq!(app.audit_len().await, audit);
}
