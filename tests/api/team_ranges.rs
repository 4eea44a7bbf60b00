//! Team size ranges (issue 13 point 5, docs/draw-spec.md B.14) through the API: seed 003's
//! "each department sends 1–2 inspectors" as a plan whose rounds fill every team to 2 when
//! enough inspectors are eligible; a /2 task whose region rule leaves too few eligible
//! inspectors for some institutions, whose teams then stay at the minimum; bad ranges
//! refused naming the field; every bundle verifies (auditor's and public, round 2 with
//! the earlier round's bundle, as `suiji verify --previous` does).

use crate::helpers::*;
use crate::plans::{public, round_input, seed_003_plan};
use serde_json::{Value, json};
use std::collections::HashMap;
use suiji::draw::v2::{AnyBundle, check_exclusions, parse_bundle};

const NOW: &str = "2023-07-01T00:00:00Z";
const DEADLINE: &str = "2023-07-20T00:00:00Z";

/// Seed 003 as a plan, with the seed's own team sizes: 医保、卫健、市场监管各抽1-2人.
fn seed_003_ranged_plan() -> Value {
    let mut plan = seed_003_plan();
    plan["departments"] = json!([{"code": MI, "team_size": 1, "team_size_max": 2},
                                 {"code": HEALTH, "team_size": 1, "team_size_max": 2},
                                 {"code": MR, "team_size": 1, "team_size_max": 2}]);
    plan
}

async fn public_bytes(app: &TestApp, path: &str) -> Vec<u8> {
    let r = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.bytes().await.unwrap().to_vec()
}

/// Commits, seals, reveals and draws a task; answers its auditor's bundle.
async fn draw(app: &TestApp, task: &str, depts: &[&str]) -> Vec<u8> {
    commit_all(app, task, depts).await;
    app.post(
        &format!("/api/v1/tasks/{task}/seal"),
        &app.coordinator(MI),
        json!(null),
    )
    .await
    .expect(200);
    reveal_all(app, task, depts, false).await;
    app.post(
        &format!("/api/v1/tasks/{task}/draw"),
        &app.coordinator(MI),
        json!(null),
    )
    .await
    .expect(200);
    bundle(app, task).await
}

/// Team sizes per department code, one entry per selection, from a bundle.
fn sizes(bundle: &Value) -> HashMap<String, Vec<usize>> {
    let mut out: HashMap<String, Vec<usize>> = HashMap::new();
    for s in bundle["result"]["selections"].as_array().unwrap() {
        for t in s["team"].as_array().unwrap() {
            out.entry(t["department"].as_str().unwrap().to_owned())
                .or_default()
                .push(t["inspectors"].as_array().unwrap().len());
        }
    }
    out
}

fn range_of(departments: &Value, code: &str) -> (Value, Value) {
    let d = departments
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == code)
        .unwrap_or_else(|| panic!("{code} in {departments}"));
    (d["team_size"].clone(), d["team_size_max"].clone())
}

#[tokio::test]
async fn seed_003_plan_with_one_to_two_per_department_fills_every_team_to_two() {
    let (app, _clock) = spawn_app_at(NOW).await;
    seed_003_county(&app).await;
    let depts = [MI, HEALTH, MR];
    let mi = app.coordinator(MI);
    let plan = app
        .post("/api/v1/plans", &mi, seed_003_ranged_plan())
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(&format!("/api/v1/plans/{plan}/publish"), &mi, json!(null))
        .await
        .expect(200);
    // The public plan states the range.
    let (_, pp) = public(&app, &format!("/public/v1/plans/{plan}")).await;
    for d in depts {
        assert_eq!(
            range_of(&pp["plan"]["departments"], d),
            (json!(1), json!(2)),
            "{pp}"
        );
    }

    // Round 1: the range flows into the round's task and its sealed snapshot.
    let t1 = app
        .post(
            &format!("/api/v1/plans/{plan}/rounds/1/task"),
            &mi,
            round_input(&depts),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let task = app
        .get(&format!("/api/v1/tasks/{t1}"), &app.auditor())
        .await
        .expect(200);
    assert_eq!(
        range_of(&task.body["departments"], HEALTH),
        (json!(1), json!(2))
    );
    let b1 = draw(&app, &t1, &depts).await;
    let v1: Value = serde_json::from_slice(&b1).unwrap();
    for d in v1["snapshot"]["departments"].as_array().unwrap() {
        assert_eq!(d["team_size_max"], 2, "{d}");
    }
    // 5 institutions; 6 medins, 3 health, 3 market inspectors, no region rule: every team
    // of every department has 2 inspectors.
    let s1 = sizes(&v1);
    assert_eq!(s1.len(), 3);
    for (d, v) in &s1 {
        assert_eq!(v.len(), 5, "{d}");
        assert!(v.iter().all(|&n| n == 2), "{d}: {v:?}");
    }
    for s in v1["result"]["selections"].as_array().unwrap() {
        for t in s["team"].as_array().unwrap() {
            let ids = t["inspectors"].as_array().unwrap();
            assert_ne!(ids[0], ids[1], "{s}");
        }
        // The leader is the lead department's first (minimum) member.
        let lead = s["team"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["department"] == MI)
            .unwrap();
        assert_eq!(s["leader"], lead["inspectors"][0]);
    }
    let a = parse_bundle(&b1).unwrap();
    a.verify().unwrap();

    // Published: the public task view states the range; the public bundle (conflict proofs
    // of the drawn institutions only) verifies with the extra members.
    app.post(&format!("/api/v1/tasks/{t1}/publish"), &mi, json!(null))
        .await
        .expect(200);
    let (_, pv) = public(&app, &format!("/public/v1/tasks/{t1}")).await;
    assert_eq!(
        range_of(&pv["departments"], MR),
        (json!(1), json!(2)),
        "{pv}"
    );
    let pb = public_bytes(&app, &format!("/public/v1/tasks/{t1}/bundle")).await;
    let ps = parse_bundle(&pb).unwrap().verify().unwrap();
    assert!(!ps.full_conflicts);
    assert_eq!(ps.result_hash, a.result_hash());

    // Round 2: other institutions, teams of 2 again; its exclusions verify against round 1.
    let t2 = app
        .post(
            &format!("/api/v1/plans/{plan}/rounds/2/task"),
            &mi,
            round_input(&depts),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b2 = draw(&app, &t2, &depts).await;
    let v2: Value = serde_json::from_slice(&b2).unwrap();
    for (d, v) in sizes(&v2) {
        assert!(v.iter().all(|&n| n == 2), "{d}: {v:?}");
    }
    let b = parse_bundle(&b2).unwrap();
    b.verify().unwrap();
    let AnyBundle::V2(bv) = &b else {
        panic!("round 2 is not a /2 bundle")
    };
    check_exclusions(bv, &[a]).unwrap();
}

/// The county of seed 003 with two health inspectors in two of its three counties, and a
/// cross-region task: an institution in either of those counties has one eligible health
/// inspector, one in the third county has both.
#[tokio::test]
async fn too_few_eligible_inspectors_keep_a_team_at_the_minimum() {
    let (app, _clock) = spawn_app_at(NOW).await;
    for n in 0..79u32 {
        let kind = if n < 7 {
            "designated_hospital"
        } else {
            "retail_pharmacy"
        };
        app.institution(institution_body(
            n,
            kind,
            ["150602", "150621", "150622"][n as usize % 3],
        ))
        .await;
    }
    for (dept, count, prefix) in [(MI, 6, "YB"), (HEALTH, 2, "WJ"), (MR, 3, "SJ")] {
        for i in 0..count {
            let region = ["150602", "150621", "150622"][i % 3];
            app.inspector(inspector_body(dept, &format!("{prefix}{i:04}"), region))
                .await;
        }
    }
    let depts = [MI, HEALTH, MR];
    let mut body = seed_003_task_v2(DEADLINE);
    body["cross_region"] = json!(true);
    body["departments"] = json!([{"code": MI, "team_size": 2},
        {"code": HEALTH, "team_size": 1, "team_size_max": 2},
        {"code": MR, "team_size": 1, "team_size_max": 2}]);
    body["entropy_plan"] = json!(
        depts
            .iter()
            .map(|d| json!({"source": format!("department:{d}")}))
            .collect::<Vec<_>>()
    );
    let id = create_task(&app, body).await;
    let task = app
        .get(&format!("/api/v1/tasks/{id}"), &app.auditor())
        .await
        .expect(200);
    assert_eq!(
        range_of(&task.body["departments"], HEALTH),
        (json!(1), json!(2))
    );
    // A fixed size stays without a maximum (and out of the snapshot's bytes).
    assert!(range_of(&task.body["departments"], MI).1.is_null());
    let bytes = draw(&app, &id, &depts).await;
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    let mi_dept = v["snapshot"]["departments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == MI)
        .unwrap();
    assert!(mi_dept.get("team_size_max").is_none(), "{mi_dept}");
    let region: HashMap<&str, &str> = v["snapshot"]["strata"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["members"].as_array().unwrap())
        .map(|m| (m["id"].as_str().unwrap(), m["region"].as_str().unwrap()))
        .collect();
    let mut short = 0;
    for s in v["result"]["selections"].as_array().unwrap() {
        let inst = s["institution"].as_str().unwrap();
        for t in s["team"].as_array().unwrap() {
            let n = t["inspectors"].as_array().unwrap().len();
            if t["department"] == HEALTH {
                // Between 1 and 2, and exactly as the region rule allows.
                let expect = if region[inst] == "150622" { 2 } else { 1 };
                assert_eq!(n, expect, "{inst} in {}: {t}", region[inst]);
                short += usize::from(n == 1);
            } else if t["department"] == MI {
                assert_eq!(n, 2, "{t}");
            } else {
                assert!((1..=2).contains(&n), "{t}");
            }
        }
    }
    assert!(short > 0, "no institution in the two counties was drawn");
    parse_bundle(&bytes).unwrap().verify().unwrap();
}

#[tokio::test]
async fn bad_team_size_ranges_are_refused_naming_the_field_and_change_nothing() {
    let (app, _clock) = spawn_app_at(NOW).await;
    seed_003_county(&app).await;
    let mi = app.coordinator(MI);
    let before = app.audit_len().await;
    for (max, what) in [(json!(1), "team_size"), (json!(21), "20")] {
        let mut p = seed_003_ranged_plan();
        p["departments"][1] = json!({"code": HEALTH, "team_size": 2, "team_size_max": max});
        let r = app
            .post("/api/v1/plans", &mi, p)
            .await
            .expect_problem_field(422, "departments[1].team_size_max");
        assert!(r.text.contains(what), "{}", r.text);
        let mut t = seed_003_task_v2(DEADLINE);
        t["departments"][2] = json!({"code": MR, "team_size": 2, "team_size_max": max});
        app.post("/api/v1/tasks", &mi, t)
            .await
            .expect_problem_field(422, "departments[2].team_size_max");
    }
    // suiji-draw/1 has no ranges.
    let mut t = seed_003_task();
    t["departments"][1] = json!({"code": HEALTH, "team_size": 1, "team_size_max": 2});
    let r = app
        .post("/api/v1/tasks", &mi, t)
        .await
        .expect_problem_field(422, "departments[1].team_size_max");
    assert!(r.text.contains("suiji-draw/2"), "{}", r.text);
    assert_eq!(app.audit_len().await, before, "nothing written");
    let list = app.get("/api/v1/plans", &app.auditor()).await.expect(200);
    assert_eq!(
        list.body["items"].as_array().map_or(0, Vec::len),
        0,
        "{}",
        list.text
    );
}
