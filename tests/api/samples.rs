//! Sample tasks over a record list (issue 14 #2): strata by attribute values, fixed counts,
//! member hashes in the snapshot and bundle, the ids for authorized callers only, the full
//! check with the list and its salt.

use crate::helpers::*;
use crate::lists::{PATIENTS, patients_csv};
use reqwest::Method;
use serde_json::{Value, json};

const SEALED_AT: &str = "2023-09-15T10:00:00Z";
const DEADLINE: &str = "2023-09-15T10:30:00Z";
const MI: &str = "medical_insurance";

fn sample_task(list: &str, strata: Value) -> Value {
    json!({"title": "门诊待遇结算支付专项稽核 患者抽样", "year": 2023, "round": 1,
        "lead_department": MI, "departments": [], "list": list, "strata": strata,
        "inspection_start": "2023-10-01", "inspection_end": "2023-12-24",
        "reveal_deadline": DEADLINE,
        "entropy_plan": [{"source": "beacon:drand-quicknet", "round": ROUND_657413.0}]})
}

/// 100 per category: a fixed count is `ratio 0/1, min = max = 100`.
fn per_category(count: u64) -> Value {
    Value::Array(
        ["门慢", "门特", "国谈药", "双通道"]
            .iter()
            .enumerate()
            .map(|(i, c)| {
                json!({"id": format!("c{i}"), "records": {"category": [c]},
                   "ratio": {"num": 0, "den": 1}, "min": count, "max": count})
            })
            .collect(),
    )
}

async fn upload(app: &TestApp, n: usize) -> String {
    let r = app
        .upload(PATIENTS, &app.admin(), "text/csv", patients_csv(n))
        .await
        .expect(201);
    r.body["id"].as_str().unwrap().to_string()
}

async fn seal_and_draw(app: &TestApp, clock: &suiji::domain::Clock, id: &str) -> Value {
    let mi = app.coordinator(MI);
    app.post(&format!("/api/v1/tasks/{id}/seal"), &mi, json!(null))
        .await
        .expect(200);
    clock.set(instant("2023-09-15T11:05:00Z"));
    app.post(
        &format!("/api/v1/tasks/{id}/reveals"),
        &mi,
        json!({"source": "beacon:drand-quicknet", "value": ROUND_657413.1}),
    )
    .await
    .expect(201);
    app.post(&format!("/api/v1/tasks/{id}/draw"), &mi, json!(null))
        .await
        .expect(200)
        .body
}

#[tokio::test]
async fn a_sample_of_patients_draws_100_per_category_and_verifies_with_the_list() {
    let (app, clock) = spawn_app_at(SEALED_AT).await;
    let list = upload(&app, 2000).await;
    let id = create_task(&app, sample_task(&list, per_category(100))).await;
    let drawn = seal_and_draw(&app, &clock, &id).await;
    let selections = drawn["selections"].as_array().unwrap();
    assert_eq!(selections.len(), 400, "{drawn}");

    // The bundle: member hashes only; it verifies as any /2 bundle.
    let auditor_bytes = bundle(&app, &id).await;
    let text = String::from_utf8(auditor_bytes.clone()).unwrap();
    assert!(!text.contains("P000"), "no patient id in the bundle");
    let parsed = suiji::draw::v2::parse_bundle(&auditor_bytes).unwrap();
    parsed.verify().unwrap();
    let suiji::draw::v2::AnyBundle::V2(b) = parsed else {
        panic!("a /2 bundle")
    };
    let records = b.snapshot.records.clone().expect("records in the snapshot");
    assert_eq!(records.list_rows, 2000);
    assert_eq!(records.strata[0].conditions[0].column, "category");
    assert!(b.snapshot.strata.iter().all(|s| s.members.len() == 500));
    let public = suiji::draw::v2::public_bundle(&b).unwrap();
    let public_text = serde_json::to_string(&public).unwrap();
    assert!(!public_text.contains("P000"));

    // The ids: for the lead and auditors, never for another department nor the public.
    let r = app
        .get(&format!("/api/v1/tasks/{id}/records"), &app.auditor())
        .await
        .expect(200);
    let recs = r.body["records"].as_array().unwrap();
    assert_eq!(recs.len(), 400);
    assert!(
        recs.iter()
            .all(|x| x["id"].as_str().unwrap().starts_with('P'))
    );
    assert!(
        r.body["strata"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["size"] == 500 && s["drawn"] == 100 && s["took_all"] == false)
    );
    app.get(
        &format!("/api/v1/tasks/{id}/records"),
        &app.coordinator("health"),
    )
    .await
    .expect(403);
    let anon = app
        .send(
            Method::GET,
            &format!("/api/v1/tasks/{id}/records"),
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(anon.status, 401);

    // The full check: the list file and the salt recompute every member hash.
    let salt = app
        .get(&format!("/api/v1/lists/{list}/salt"), &app.auditor())
        .await
        .expect(200)
        .body["salt"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("patients.csv");
    std::fs::write(&file, patients_csv(2000)).unwrap();
    let bfile = dir.path().join("bundle.json");
    std::fs::write(&bfile, &auditor_bytes).unwrap();
    assert_eq!(
        suiji::verify_cmd::run_with_list(&bfile, &[], Some((&file, &salt))),
        std::process::ExitCode::SUCCESS
    );
    // A wrong salt, or a list with one record changed, is a mismatch.
    let wrong = "00".repeat(32);
    assert_eq!(
        suiji::verify_cmd::run_with_list(&bfile, &[], Some((&file, &wrong))),
        std::process::ExitCode::from(1)
    );
    let changed =
        String::from_utf8(patients_csv(2000))
            .unwrap()
            .replacen("P000005,门特", "P000005,门慢", 1);
    std::fs::write(&file, changed).unwrap();
    assert_eq!(
        suiji::verify_cmd::run_with_list(&bfile, &[], Some((&file, &salt))),
        std::process::ExitCode::from(1)
    );

    // The list is used: it cannot be deleted.
    let del = app
        .send(
            Method::DELETE,
            &format!("/api/v1/lists/{list}"),
            Some(&app.admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(del.status, 409, "{}", del.text);
    let meta = app
        .get(&format!("/api/v1/lists/{list}"), &app.admin())
        .await
        .expect(200);
    assert_eq!(meta.body["used_by"], json!([id]));
}

#[tokio::test]
async fn a_count_above_the_stratum_takes_all_and_says_so() {
    let (app, clock) = spawn_app_at(SEALED_AT).await;
    let list = upload(&app, 40).await;
    let id = create_task(&app, sample_task(&list, per_category(15))).await;
    seal_and_draw(&app, &clock, &id).await;
    let r = app
        .get(&format!("/api/v1/tasks/{id}/records"), &app.coordinator(MI))
        .await
        .expect(200);
    for s in r.body["strata"].as_array().unwrap() {
        assert_eq!(s["size"], 10, "{s}");
        assert_eq!(s["drawn"], 10);
        assert_eq!(s["took_all"], true);
    }
}

#[tokio::test]
async fn bad_sample_tasks_are_refused_naming_the_field() {
    let (app, _clock) = spawn_app_at(SEALED_AT).await;
    let list = upload(&app, 8).await;
    let mi = app.coordinator(MI);
    let before = app.audit_len().await;
    let post = |body: Value| {
        let app = &app;
        let mi = mi.clone();
        async move { app.post("/api/v1/tasks", &mi, body).await }
    };
    post(sample_task("no-such-list", per_category(1)))
        .await
        .expect_problem_field(422, "list");
    let mut bad = per_category(1);
    bad[0]["records"] = json!({"colour": ["red"]});
    post(sample_task(&list, bad))
        .await
        .expect_problem_field(422, "strata[0].records.colour");
    let mut bad = per_category(1);
    bad[0]["records"] = json!({"cost_fen": ["12.5"]});
    post(sample_task(&list, bad))
        .await
        .expect_problem_field(422, "strata[0].records.cost_fen");
    let mut teams = sample_task(&list, per_category(1));
    teams["departments"] = json!([{"code": MI, "team_size": 1}]);
    post(teams).await.expect_problem_field(422, "departments");
    let mut no_records = per_category(1);
    no_records[0].as_object_mut().unwrap().remove("records");
    post(sample_task(&list, no_records))
        .await
        .expect_problem_field(422, "strata[0].records");
    let mut no_list = sample_task(&list, per_category(1));
    no_list.as_object_mut().unwrap().remove("list");
    post(no_list)
        .await
        .expect_problem_field(422, "strata[0].records");
    assert_eq!(app.audit_len().await, before);
    // A deleted list cannot be drawn from.
    app.send(
        Method::DELETE,
        &format!("/api/v1/lists/{list}"),
        Some(&app.admin()),
        None,
        &[],
    )
    .await;
    post(sample_task(&list, per_category(1)))
        .await
        .expect_problem_field(422, "list");
}
