//! Sample tasks over a record list (issue 14 #2): strata by attribute values, fixed counts,
//! member hashes in the snapshot and bundle, the ids for authorized callers only, the full
//! check with the list and its salt.

use crate::helpers::*;
use crate::lists::{PATIENTS, patients_csv};
use reqwest::Method;
use serde_json::{Value, json};

pub(crate) const SEALED_AT: &str = "2023-09-15T10:00:00Z";
const DEADLINE: &str = "2023-09-15T10:30:00Z";
const MI: &str = "medical_insurance";

pub(crate) fn sample_task(list: &str, strata: Value) -> Value {
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

pub(crate) async fn upload(app: &TestApp, n: usize) -> String {
    let r = app
        .upload(PATIENTS, &app.admin(), "text/csv", patients_csv(n))
        .await
        .expect(201);
    r.body["id"].as_str().unwrap().to_string()
}

pub(crate) async fn seal_and_draw(app: &TestApp, clock: &suiji::domain::Clock, id: &str) -> Value {
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

/// 10 per category in each of three institutions, at most 2 per disease (B.15, B.16).
fn nested(count: u64, cap: u64) -> Value {
    json!([
        {"id": "mm", "records": {"category": ["门慢"], "institution": ["I000", "I002", "I005"]},
         "group_by": "institution", "cap": {"column": "disease", "max": cap},
         "ratio": {"num": 0, "den": 1}, "min": count, "max": count},
        {"id": "mt", "records": {"category": ["门特"], "institution": ["I000", "I002", "I005"]},
         "group_by": "institution", "cap": {"column": "disease", "max": cap},
         "ratio": {"num": 0, "den": 1}, "min": count, "max": count}
    ])
}

#[tokio::test]
async fn a_nested_sample_with_a_cap_draws_per_institution_and_spreads_diseases() {
    let (app, clock) = spawn_app_at(SEALED_AT).await;
    let list = upload(&app, 2000).await;
    let id = create_task(&app, sample_task(&list, nested(10, 2))).await;
    let drawn = seal_and_draw(&app, &clock, &id).await;
    assert_eq!(drawn["selections"].as_array().unwrap().len(), 60, "{drawn}");
    let r = app
        .get(&format!("/api/v1/tasks/{id}/records"), &app.auditor())
        .await
        .expect(200);
    // patients_csv: patient i has category i % 4, institution I{i % 7}, disease D{i % 5}.
    let mut per: std::collections::BTreeMap<(String, u64, u64), u64> = Default::default();
    for rec in r.body["records"].as_array().unwrap() {
        let i: u64 = rec["id"].as_str().unwrap()[1..].parse().unwrap();
        let stratum = rec["stratum"].as_str().unwrap().to_string();
        assert_eq!(i % 4, if stratum == "mm" { 0 } else { 1 });
        assert!([0, 2, 5].contains(&(i % 7)), "institution of {i}");
        *per.entry((stratum, i % 7, i % 5)).or_default() += 1;
    }
    // 2 stratums × 3 institutions × 5 diseases, exactly 2 each: the cap binds everywhere.
    assert_eq!(per.len(), 30, "{per:?}");
    assert!(per.values().all(|&n| n == 2), "{per:?}");

    // The snapshot commits to the values (hashes) and the bundle names no patient.
    let bytes = bundle(&app, &id).await;
    assert!(!String::from_utf8(bytes.clone()).unwrap().contains("P00"));
    let suiji::draw::v2::AnyBundle::V2(b) = suiji::draw::v2::parse_bundle(&bytes).unwrap() else {
        panic!("a /2 bundle")
    };
    let rs = &b.snapshot.records.as_ref().unwrap().strata[0];
    assert_eq!(rs.cap.as_ref().unwrap().max, 2);
    assert_eq!(rs.group.as_ref().unwrap().column, "institution");
    assert_eq!(
        rs.cap.as_ref().unwrap().values.len(),
        b.snapshot.strata[0].members.len()
    );
    suiji::draw::v2::verify2(&b).unwrap();
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
    std::fs::write(&bfile, &bytes).unwrap();
    assert_eq!(
        suiji::verify_cmd::run_with_list(&bfile, &[], Some((&file, &salt))),
        std::process::ExitCode::SUCCESS
    );
}

#[tokio::test]
async fn bad_caps_and_groups_are_refused_naming_the_field() {
    let (app, _clock) = spawn_app_at(SEALED_AT).await;
    let list = upload(&app, 200).await;
    let mi = app.coordinator(MI);
    let before = app.audit_len().await;
    let mut bad = nested(2, 1);
    bad[0]["cap"]["column"] = json!("colour");
    app.post("/api/v1/tasks", &mi, sample_task(&list, bad))
        .await
        .expect_problem_field(422, "strata[0].cap.column");
    let mut bad = nested(2, 1);
    bad[1]["group_by"] = json!("colour");
    app.post("/api/v1/tasks", &mi, sample_task(&list, bad))
        .await
        .expect_problem_field(422, "strata[1].group_by");
    app.post("/api/v1/tasks", &mi, sample_task(&list, nested(2, 0)))
        .await
        .expect_problem_field(422, "strata[0].cap.max");
    let mut registry = sample_task(&list, nested(2, 1));
    registry.as_object_mut().unwrap().remove("list");
    for s in registry["strata"].as_array_mut().unwrap() {
        s.as_object_mut().unwrap().remove("records");
    }
    app.post("/api/v1/tasks", &mi, registry)
        .await
        .expect_problem_field(422, "strata[0].cap");
    assert_eq!(app.audit_len().await, before);

    // 6 per institution with at most 1 per disease: only 5 diseases, refused at seal.
    let id = create_task(&app, sample_task(&list, nested(6, 1))).await;
    let before = app.audit_len().await;
    app.post(&format!("/api/v1/tasks/{id}/seal"), &mi, json!(null))
        .await
        .expect_problem_field(422, "strata[0].cap.max");
    assert_eq!(app.audit_len().await, before);
    let t = app
        .get(&format!("/api/v1/tasks/{id}"), &mi)
        .await
        .expect(200);
    assert_ne!(t.body["state"], "sealed");
}

/// Seed 004's patients, scaled down: patient i has category i % 4, institution
/// I{(i / 4) % 30} and disease D{(i / 120) % 11}, so each (category, institution) has about
/// 16 patients over 11 diseases.
fn seed004_patients(n: usize) -> Vec<u8> {
    let cats = ["门慢", "门特", "国谈药", "双通道"];
    let mut s = String::from("patient_id,category,institution,disease,cost_fen\n");
    for i in 0..n {
        s.push_str(&format!(
            "P{i:06},{},I{:03},D{:02},{}\n",
            cats[i % 4],
            (i / 4) % 30,
            (i / 120) % 11,
            1000 + i * 37 % 5000
        ));
    }
    s.into_bytes()
}

fn seed004_bills(n: usize) -> Vec<u8> {
    let mut s = String::from("bill_id,institution,amount_fen\n");
    for i in 0..n {
        s.push_str(&format!(
            "JS{i:08},I{:03},{}\n",
            i % 300,
            500 + i * 7919 % 900_000
        ));
    }
    s.into_bytes()
}

fn fixed(id: &str, records: Value, count: u64) -> Value {
    json!({"id": id, "records": records, "ratio": {"num": 0, "den": 1}, "min": count, "max": count})
}

/// Seed 004 (门诊待遇结算支付专项稽核) end to end on generated lists: 100 patients per
/// category; the top 10 institutions by cost per person with at least 5 grassroots; in
/// each of them 10 门慢 and 10 门特 patients with at most 2 per disease; 200 bills. Every
/// bundle verifies with its list and salt and names no patient.
#[tokio::test]
async fn seed_004_scheme_end_to_end() {
    use crate::lists::{INSTITUTIONS, institutions_csv};
    let (app, clock) = spawn_app_at(SEALED_AT).await;
    let admin = app.admin();
    let id_of = |r: &Reply| r.body["id"].as_str().unwrap().to_string();
    let patients_file = seed004_patients(2000);
    let patients = id_of(
        &app.upload(
            "/api/v1/lists?name=patients&id_column=patient_id&columns=category:text,institution:text,disease:text,cost_fen:integer",
            &admin,
            "text/csv",
            patients_file.clone(),
        )
        .await
        .expect(201),
    );
    let institutions = id_of(
        &app.upload(INSTITUTIONS, &admin, "text/csv", institutions_csv(300))
            .await
            .expect(201),
    );
    let bills_file = seed004_bills(20_000);
    let bills = id_of(
        &app.upload(
            "/api/v1/lists?name=bills&id_column=bill_id&columns=institution:text,amount_fen:integer",
            &admin,
            "text/csv",
            bills_file.clone(),
        )
        .await
        .expect(201),
    );
    // 排名靠前: the top 10 by cost per person, at least 5 grassroots (B.17) ...
    let top = id_of(
        &app.post(
            &format!("/api/v1/lists/{institutions}/top"),
            &admin,
            json!({"name": "年人均门诊费用前10", "by": "cost_per_person", "n": 10,
                "at_least": {"where": {"grassroots": ["是"]}, "count": 5}}),
        )
        .await
        .expect(201),
    );
    // ... and their patients: the intersection on the institution column.
    let top_patients = app
        .post(
            "/api/v1/lists/intersection",
            &admin,
            json!({"name": "前10机构的患者", "lists": [
                {"list": patients, "key": "institution"}, {"list": top, "key": "credit_code"}]}),
        )
        .await
        .expect(201);
    let top_patients_id = id_of(&top_patients);
    // institutions_csv: cost falls with the index, grassroots every 4th from I003.
    let top10 = [
        "I000", "I001", "I002", "I003", "I004", "I005", "I007", "I011", "I015", "I019",
    ];
    let in_top = |line: &str| top10.iter().any(|t| line.split(',').nth(2) == Some(t));
    let top_rows: Vec<&str> = std::str::from_utf8(&patients_file)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| in_top(l))
        .collect();
    assert_eq!(top_patients.body["rows"], top_rows.len());

    let per_category = sample_task(&patients, per_category(100));
    let nested = sample_task(
        &top_patients_id,
        json!([
            {"id": "mm", "records": {"category": ["门慢"]}, "group_by": "institution",
             "cap": {"column": "disease", "max": 2},
             "ratio": {"num": 0, "den": 1}, "min": 10, "max": 10},
            {"id": "mt", "records": {"category": ["门特"]}, "group_by": "institution",
             "cap": {"column": "disease", "max": 2},
             "ratio": {"num": 0, "den": 1}, "min": 10, "max": 10}
        ]),
    );
    let bill_sample = sample_task(&bills, json!([fixed("bills", json!({}), 200)]));
    let mi = app.coordinator(MI);
    let mut tasks = Vec::new();
    for body in [per_category, nested, bill_sample] {
        let id = create_task(&app, body).await;
        app.post(&format!("/api/v1/tasks/{id}/seal"), &mi, json!(null))
            .await
            .expect(200);
        tasks.push(id);
    }
    clock.set(instant("2023-09-15T11:05:00Z"));
    for id in &tasks {
        app.post(
            &format!("/api/v1/tasks/{id}/reveals"),
            &mi,
            json!({"source": "beacon:drand-quicknet", "value": ROUND_657413.1}),
        )
        .await
        .expect(201);
        app.post(&format!("/api/v1/tasks/{id}/draw"), &mi, json!(null))
            .await
            .expect(200);
    }
    let records = |id: String| {
        let app = &app;
        async move {
            app.get(&format!("/api/v1/tasks/{id}/records"), &app.auditor())
                .await
                .expect(200)
                .body
        }
    };
    // 100 per category.
    let a = records(tasks[0].clone()).await;
    assert_eq!(a["records"].as_array().unwrap().len(), 400);
    assert!(
        a["strata"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["drawn"] == 100)
    );
    // 10 门慢 and 10 门特 in each top institution, at most 2 per disease.
    let b = records(tasks[1].clone()).await;
    let mut per_inst: std::collections::BTreeMap<(String, u64), u64> = Default::default();
    let mut per_disease: std::collections::BTreeMap<(String, u64, u64), u64> = Default::default();
    for r in b["records"].as_array().unwrap() {
        let i: u64 = r["id"].as_str().unwrap()[1..].parse().unwrap();
        let stratum = r["stratum"].as_str().unwrap().to_string();
        assert_eq!(i % 4, if stratum == "mm" { 0 } else { 1 });
        let inst = (i / 4) % 30;
        assert!(top10.contains(&format!("I{inst:03}").as_str()), "{i}");
        *per_inst.entry((stratum.clone(), inst)).or_default() += 1;
        *per_disease
            .entry((stratum, inst, (i / 120) % 11))
            .or_default() += 1;
    }
    assert_eq!(per_inst.len(), 20, "{per_inst:?}");
    assert!(per_inst.values().all(|&n| n == 10), "{per_inst:?}");
    assert!(per_disease.values().all(|&n| n <= 2), "{per_disease:?}");
    // 200 bills.
    let c = records(tasks[2].clone()).await;
    assert_eq!(c["records"].as_array().unwrap().len(), 200);

    // Every bundle verifies offline, with its list and salt; none names a patient or bill,
    // public or not. The nested sample's bundle records the intersection's rule (B.17).
    let dir = tempfile::tempdir().unwrap();
    let top_csv = {
        let mut s = String::from("patient_id,category,institution,disease,cost_fen\n");
        for l in &top_rows {
            s.push_str(l);
            s.push('\n');
        }
        s.into_bytes()
    };
    for (task, list, file) in [
        (&tasks[0], &patients, patients_file.clone()),
        (&tasks[1], &top_patients_id, top_csv),
        (&tasks[2], &bills, bills_file.clone()),
    ] {
        let bytes = bundle(&app, task).await;
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            !text.contains("P000") && !text.contains("JS000"),
            "ids in {task}"
        );
        let suiji::draw::v2::AnyBundle::V2(parsed) = suiji::draw::v2::parse_bundle(&bytes).unwrap()
        else {
            panic!("a /2 bundle")
        };
        let public =
            serde_json::to_string(&suiji::draw::v2::public_bundle(&parsed).unwrap()).unwrap();
        assert!(!public.contains("P000") && !public.contains("JS000"));
        if *list == top_patients_id {
            let d = parsed
                .snapshot
                .records
                .as_ref()
                .unwrap()
                .derivation
                .as_ref()
                .unwrap();
            assert_eq!(d.kind, "intersection");
            assert_eq!(d.rule["sources"][1]["list_rows"], 10);
        }
        let salt = app
            .get(&format!("/api/v1/lists/{list}/salt"), &app.auditor())
            .await
            .expect(200)
            .body["salt"]
            .as_str()
            .unwrap()
            .to_string();
        let lfile = dir.path().join("list.csv");
        std::fs::write(&lfile, file).unwrap();
        let bfile = dir.path().join("bundle.json");
        std::fs::write(&bfile, &bytes).unwrap();
        assert_eq!(
            suiji::verify_cmd::run_with_list(&bfile, &[], Some((&lfile, &salt))),
            std::process::ExitCode::SUCCESS,
            "task {task}"
        );
    }
}
