//! Annual plans (issue 13) through the API: drafts and their versions, publication and
//! amendments, bad input, rounds as suiji-draw/2 tasks whose seal excludes what earlier
//! rounds drew (and whose bundles verify with `--previous`), coverage goals met exactly,
//! risk-graded ratios, progress.

use crate::helpers::*;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use suiji::draw::v2::{AnyBundle, check_exclusions, parse_bundle};

const NOW: &str = "2023-07-01T00:00:00Z";
const DEADLINE: &str = "2023-07-20T00:00:00Z";

/// Seed 003 as a plan (shared with `team_ranges`).
pub(crate) fn seed_003_plan() -> Value {
    json!({
        "title": "2023年定点医院和定点零售药店跨部门双随机联合抽查计划",
        "year": 2023,
        "lead_department": MI,
        "departments": [{"code": MI, "team_size": 2}, {"code": HEALTH, "team_size": 1},
                        {"code": MR, "team_size": 1}],
        "items": [],
        "groups": [
            {"id": "designated_hospitals", "name": "定点医院", "responsible_unit": "基金监管股",
             "filter": {"kind": ["designated_hospital"]}, "ratio": {"num": 5, "den": 100},
             "check_contents": "纳入基本医疗保险基金支付范围的所有医药服务和医药费用"},
            {"id": "retail_pharmacies", "name": "定点零售药店", "responsible_unit": "基金监管股",
             "filter": {"kind": ["retail_pharmacy"]}, "ratio": {"num": 5, "den": 100},
             "check_contents": "规范使用医保基金情况"}
        ],
        "rounds": [{"start": "2023-08-01", "end": "2023-08-31"},
                   {"start": "2023-10-01", "end": "2023-11-30"}],
        "rule": "no_repeat",
        "cross_region": false,
        "expense_period": {"start": "2022-07-01", "end": "2023-05-31"},
        "inspection_method": "on_site"
    })
}

pub(crate) fn round_input(depts: &[&str]) -> Value {
    let plan: Vec<Value> = depts
        .iter()
        .map(|d| json!({"source": format!("department:{d}")}))
        .collect();
    json!({"entropy_plan": plan, "reveal_deadline": DEADLINE})
}

/// A public read without a token: status and JSON body.
pub(crate) async fn public(app: &TestApp, path: &str) -> (u16, Value) {
    let r = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A portal page (HTML), which must answer 200.
async fn page(app: &TestApp, path: &str) -> String {
    let r = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

async fn create_plan(app: &TestApp, body: Value) -> String {
    let r = app
        .post("/api/v1/plans", &app.coordinator(MI), body)
        .await
        .expect(201);
    assert_eq!(r.body["state"], "draft");
    assert_eq!(r.header("etag"), "\"1\"");
    r.body["id"].as_str().unwrap().to_owned()
}

async fn publish(app: &TestApp, id: &str) {
    let r = app
        .post(
            &format!("/api/v1/plans/{id}/publish"),
            &app.coordinator(MI),
            json!(null),
        )
        .await
        .expect(200);
    assert_eq!(r.body["state"], "published");
}

async fn round_task(app: &TestApp, plan: &str, round: u32, depts: &[&str]) -> String {
    let r = app
        .post(
            &format!("/api/v1/plans/{plan}/rounds/{round}/task"),
            &app.coordinator(MI),
            round_input(depts),
        )
        .await
        .expect(201);
    assert_eq!(r.body["state"], "draft");
    assert_eq!(r.body["protocol"], "suiji-draw/2", "{}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn seal(app: &TestApp, task: &str) -> Reply {
    app.post(
        &format!("/api/v1/tasks/{task}/seal"),
        &app.coordinator(MI),
        json!(null),
    )
    .await
}

/// Seals, reveals and draws a committed round task; answers its bundle and the
/// institutions drawn, by stratum.
async fn seal_and_draw(
    app: &TestApp,
    task: &str,
    depts: &[&str],
) -> (Vec<u8>, HashMap<String, Vec<String>>) {
    seal(app, task).await.expect(200);
    reveal_all(app, task, depts, false).await;
    app.post(
        &format!("/api/v1/tasks/{task}/draw"),
        &app.coordinator(MI),
        json!(null),
    )
    .await
    .expect(200);
    let bytes = bundle(app, task).await;
    let b: Value = serde_json::from_slice(&bytes).unwrap();
    let mut by_stratum: HashMap<String, Vec<String>> = HashMap::new();
    for s in b["result"]["selections"].as_array().unwrap() {
        by_stratum
            .entry(s["stratum"].as_str().unwrap().to_owned())
            .or_default()
            .push(s["institution"].as_str().unwrap().to_owned());
    }
    (bytes, by_stratum)
}

fn count(m: &HashMap<String, Vec<String>>, stratum: &str) -> usize {
    m.get(stratum).map_or(0, Vec::len)
}

#[tokio::test]
async fn a_draft_plan_is_versioned_published_then_only_amended() {
    let app = spawn_app().await;
    seed_003_county(&app).await;
    let id = create_plan(&app, seed_003_plan()).await;
    // Only the lead department's coordinator (or an admin) writes the plan.
    app.post("/api/v1/plans", &app.coordinator(HEALTH), seed_003_plan())
        .await
        .expect(403);
    let path = format!("/api/v1/plans/{id}");
    let got = app.get(&path, &app.auditor()).await.expect(200);
    assert_eq!(
        got.body["plan"]["groups"][1]["ratio"],
        json!({"num": 5, "den": 100})
    );
    assert_eq!(got.body["plan"]["expense_period"]["start"], "2022-07-01");

    let mut edited = seed_003_plan();
    edited["title"] = json!("2023年联合抽查计划（修订稿）");
    let r = app
        .put(&path, &app.coordinator(MI), 1, edited.clone())
        .await
        .expect(200);
    assert_eq!(r.header("etag"), "\"2\"");
    // A stale version is refused and changes nothing.
    edited["title"] = json!("覆盖");
    app.put(&path, &app.coordinator(MI), 1, edited.clone())
        .await
        .expect(412);
    let history = app
        .get(&format!("{path}/history"), &app.auditor())
        .await
        .expect(200);
    assert_eq!(history.body["items"].as_array().unwrap().len(), 2);

    // A draft is not public.
    assert_eq!(public(&app, &format!("/public/v1/plans/{id}")).await.0, 404);
    publish(&app, &id).await;
    // Published: immutable, except by an amendment with a reason.
    app.put(&path, &app.coordinator(MI), 2, edited.clone())
        .await
        .expect(409);
    app.post(
        &format!("{path}/publish"),
        &app.coordinator(MI),
        json!(null),
    )
    .await
    .expect(409);
    app.post(
        &format!("{path}/amendments"),
        &app.coordinator(MI),
        json!({"reason": "", "plan": edited}),
    )
    .await
    .expect_problem_field(422, "reason");
    let mut amended = seed_003_plan();
    amended["title"] = json!("2023年联合抽查计划（第一次修订）");
    amended["rounds"][1] = json!({"start": "2023-10-08", "end": "2023-11-30"});
    let a = app
        .post(
            &format!("{path}/amendments"),
            &app.coordinator(MI),
            json!({"reason": "国庆假期顺延第二轮", "plan": amended}),
        )
        .await
        .expect(201);
    assert_eq!(a.body["version"], 3);
    assert_eq!(a.body["state"], "published");
    assert_eq!(a.body["amendments"][0]["reason"], "国庆假期顺延第二轮");
    assert_eq!(a.body["amendments"][0]["version"], 3);
    let history = app
        .get(&format!("{path}/history"), &app.auditor())
        .await
        .expect(200);
    assert_eq!(history.body["items"].as_array().unwrap().len(), 3);
    // The public sees every published version with its reason, not the drafts before.
    let (status, body) = public(&app, &format!("/public/v1/plans/{id}")).await;
    assert_eq!(status, 200, "{body}");
    let versions = body["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{body}");
    assert_eq!(versions[0]["version"], 2);
    assert_eq!(versions[0]["reason"], Value::Null);
    assert_eq!(versions[1]["reason"], "国庆假期顺延第二轮");
    assert_eq!(body["plan"]["rounds"][1]["start"], "2023-10-08");
    let (_, listed) = public(&app, "/public/v1/plans").await;
    assert_eq!(listed["items"][0]["id"], id.as_str());
    let html = page(&app, &format!("/plans/{id}")).await;
    assert!(
        html.contains("定点零售药店") && html.contains("每轮 5/100"),
        "{html}"
    );
    assert!(html.contains("国庆假期顺延第二轮"), "{html}");
    let index = page(&app, "/plans").await;
    assert!(index.contains(&format!("/plans/{id}")), "{index}");
    // The Atom feed announces the publication and the amendment with its reason.
    let feed = page(&app, "/public/v1/feed.atom").await;
    assert!(
        feed.contains(&format!("urn:suiji:plan:{id}:published"))
            && feed.contains("抽查计划公示")
            && feed.contains(&format!("urn:suiji:plan:{id}:v3"))
            && feed.contains("国庆假期顺延第二轮"),
        "{feed}"
    );
    let front = page(&app, "/").await;
    assert!(front.contains("href=\"/plans\""), "{front}");
    let list = app
        .get("/api/v1/plans?year=2023&state=published", &app.auditor())
        .await
        .expect(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    app.get("/api/v1/plans?state=closed", &app.auditor())
        .await
        .expect_problem_field(422, "state");
}

type Change = Box<dyn Fn(&mut Value)>;

#[tokio::test]
async fn bad_plans_are_refused_naming_the_field_and_change_nothing() {
    let app = spawn_app().await;
    seed_003_county(&app).await;
    let audit_before = app.audit_len().await;
    let cases: Vec<(Change, &str)> = vec![
        (
            Box::new(|p: &mut Value| {
                p["rule"] = json!("coverage");
                for g in p["groups"].as_array_mut().unwrap() {
                    g.as_object_mut().unwrap().remove("ratio");
                    g["goal"] = json!({"num": 3, "den": 2});
                }
            }),
            "groups[0].goal",
        ),
        (
            Box::new(|p: &mut Value| p["rounds"][1] = json!({"start": "2023-10-01"})),
            "rounds[1].end",
        ),
        (Box::new(|p: &mut Value| p["rounds"] = json!([])), "rounds"),
        (
            Box::new(|p: &mut Value| p["rounds"][1]["start"] = json!("2023-08-15")),
            "rounds[1].start",
        ),
        (
            Box::new(|p: &mut Value| p["rounds"][1]["end"] = json!("2024-01-31")),
            "rounds[1].end",
        ),
        (
            Box::new(|p: &mut Value| p["groups"][1]["id"] = json!("designated_hospitals")),
            "groups[1].id",
        ),
        (
            Box::new(|p: &mut Value| {
                p["groups"][0].as_object_mut().unwrap().remove("ratio");
            }),
            "groups[0].ratio",
        ),
        (
            Box::new(|p: &mut Value| p["departments"][1]["code"] = json!("tax")),
            "departments[1].code",
        ),
        // A group's filter follows a task stratum's rules (it becomes one).
        (
            Box::new(|p: &mut Value| p["groups"][0]["filter"]["tags"] = json!(["医共体\u{84}"])),
            "groups[0].filter.tags[0]",
        ),
        (
            Box::new(|p: &mut Value| p["groups"][0]["filter"]["tags"] = json!(["a", "a"])),
            "groups[0].filter.tags[1]",
        ),
    ];
    for (change, field) in cases {
        let mut body = seed_003_plan();
        change(&mut body);
        app.post("/api/v1/plans", &app.coordinator(MI), body)
            .await
            .expect_problem_field(422, field);
    }
    let list = app.get("/api/v1/plans", &app.auditor()).await.expect(200);
    assert!(list.body["items"].as_array().unwrap().is_empty());
    assert_eq!(app.audit_len().await, audit_before);

    // An empty population is refused when publishing (a draft may precede the registry),
    // naming the group; the plan stays a draft.
    let mut body = seed_003_plan();
    body["groups"][1]["filter"] = json!({"kind": ["village_clinic"]});
    let id = create_plan(&app, body).await;
    app.post(
        &format!("/api/v1/plans/{id}/publish"),
        &app.coordinator(MI),
        json!(null),
    )
    .await
    .expect_problem_field(422, "groups[1].filter");
    let got = app
        .get(&format!("/api/v1/plans/{id}"), &app.auditor())
        .await
        .expect(200);
    assert_eq!(got.body["state"], "draft");
    // A draft has no round tasks; a plan has no round 3.
    app.post(
        &format!("/api/v1/plans/{id}/rounds/1/task"),
        &app.coordinator(MI),
        round_input(&[MI]),
    )
    .await
    .expect(409);
}

/// Seed 003 as a plan: 7 hospitals + 72 pharmacies, 5 %, twice a year, no_repeat. Round 1
/// draws 1 + 4; round 2 cannot be sealed before round 1 is drawn; round 2 draws 1 + 4
/// others, excluding round 1's institutions as /2 exclusions that verify against round
/// 1's bundle.
#[tokio::test]
async fn seed_003_plan_draws_twice_without_repeating_and_round_two_verifies_with_previous() {
    let (app, _clock) = spawn_app_at(NOW).await;
    let county = seed_003_county(&app).await;
    let depts = [MI, HEALTH, MR];
    let plan = create_plan(&app, seed_003_plan()).await;
    publish(&app, &plan).await;

    let t1 = round_task(&app, &plan, 1, &depts).await;
    let t2 = round_task(&app, &plan, 2, &depts).await;
    // One task per round; no round 3.
    app.post(
        &format!("/api/v1/plans/{plan}/rounds/1/task"),
        &app.coordinator(MI),
        round_input(&depts),
    )
    .await
    .expect(409);
    app.post(
        &format!("/api/v1/plans/{plan}/rounds/3/task"),
        &app.coordinator(MI),
        round_input(&depts),
    )
    .await
    .expect(404);
    let task1 = app
        .get(&format!("/api/v1/tasks/{t1}"), &app.auditor())
        .await
        .expect(200);
    assert_eq!(task1.body["strata"][0]["min"], 1, "{}", task1.text);
    assert_eq!(task1.body["strata"][1]["max"], 4);
    assert_eq!(task1.body["inspection_start"], "2023-08-01");
    commit_all(&app, &t1, &depts).await;
    commit_all(&app, &t2, &depts).await;

    // Round 2 before round 1 is drawn: 409 naming round 1, nothing changed.
    let early = seal(&app, &t2).await.expect(409);
    assert!(early.text.contains("round 1"), "{}", early.text);
    let still = app
        .get(&format!("/api/v1/tasks/{t2}"), &app.auditor())
        .await
        .expect(200);
    assert_eq!(still.body["state"], "draft");

    let (b1, drawn1) = seal_and_draw(&app, &t1, &depts).await;
    assert_eq!(count(&drawn1, "designated_hospitals"), 1);
    assert_eq!(count(&drawn1, "retail_pharmacies"), 4);

    let (b2, drawn2) = seal_and_draw(&app, &t2, &depts).await;
    assert_eq!(count(&drawn2, "designated_hospitals"), 1);
    assert_eq!(count(&drawn2, "retail_pharmacies"), 4);
    let first: HashSet<&String> = drawn1.values().flatten().collect();
    assert!(
        drawn2.values().flatten().all(|i| !first.contains(i)),
        "round 2 repeated an institution"
    );
    let hospitals: HashSet<&String> = county.hospitals.iter().collect();
    assert!(
        drawn2["designated_hospitals"]
            .iter()
            .all(|h| hospitals.contains(h))
    );

    // Both bundles verify; round 2's exclusions hold against round 1's bundle, and only
    // with it (what `suiji verify B --previous A` does).
    let a = parse_bundle(&b1).unwrap();
    let b = parse_bundle(&b2).unwrap();
    a.verify().unwrap();
    b.verify().unwrap();
    let AnyBundle::V2(b2v) = &b else {
        panic!("round 2 is not a /2 bundle")
    };
    assert_eq!(b2v.snapshot.exclusions.len(), 1);
    assert_eq!(b2v.snapshot.exclusions[0].task, t1);
    assert_eq!(b2v.snapshot.exclusions[0].institutions.len(), 5);
    check_exclusions(b2v, &[a]).unwrap();
    assert!(check_exclusions(b2v, &[]).is_err());
    // The pool of round 2 holds none of round 1's institutions.
    for s in &b2v.snapshot.strata {
        assert!(s.members.iter().all(|m| !first.contains(&m.id)));
    }

    let p = app
        .get(&format!("/api/v1/plans/{plan}/progress"), &app.auditor())
        .await
        .expect(200);
    assert_eq!(p.body["groups"][0]["population"], 7);
    assert_eq!(p.body["groups"][0]["drawn"], 2);
    assert_eq!(p.body["groups"][1]["population"], 72);
    assert_eq!(p.body["groups"][1]["drawn"], 8);
    assert_eq!(p.body["groups"][1]["remaining"], 0);
    assert_eq!(p.body["rounds"][0]["state"], "drawn");
    assert_eq!(p.body["rounds"][1]["task_id"], t2);
    assert_eq!(p.body["rounds"][1]["drawn"], 5);
    assert_eq!(p.body["rounds"][1]["overdue"], false);
    // The same progress is public, and on the plan's portal page.
    let (_, body) = public(&app, &format!("/public/v1/plans/{plan}")).await;
    assert_eq!(body["progress"]["groups"][1]["drawn"], 8);
    let html = page(&app, &format!("/plans/{plan}")).await;
    assert!(html.contains(&format!("/tasks/{t2}")), "{html}");
    // CSV export of the plan and its progress.
    let (headers, csv) = app
        .download(&format!("/api/v1/plans/{plan}/export.csv"), &app.auditor())
        .await;
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = String::from_utf8(csv).unwrap();
    assert!(
        csv.contains("group,retail_pharmacies,定点零售药店,基金监管股,5/100 per round,72,8,8,0"),
        "{csv}"
    );
    // The same rows as XLSX.
    let (_, xlsx) = app
        .download(&format!("/api/v1/plans/{plan}/export.xlsx"), &app.auditor())
        .await;
    let rows = xlsx_rows(xlsx);
    assert_eq!(
        rows[2],
        [
            "group",
            "retail_pharmacies",
            "定点零售药店",
            "基金监管股",
            "5/100 per round",
            "72",
            "8",
            "8",
            "0"
        ]
    );
    assert_eq!(rows[4][0], "round");
}

fn institution(
    n: u32,
    kind: &str,
    level: &str,
    ownership: &str,
    grade: &str,
    tags: &[&str],
) -> Value {
    let mut b = institution_body(n, kind, ["150602", "150621", "150622"][n as usize % 3]);
    b["level"] = json!(level);
    b["ownership"] = json!(ownership);
    b["risk_grade"] = json!(grade);
    b["tags"] = json!(tags);
    b
}

async fn inspectors(app: &TestApp, n: usize) {
    for i in 0..n {
        let region = ["150602", "150621", "150622"][i % 3];
        app.inspector(inspector_body(MI, &format!("YB{i:04}"), region))
            .await;
    }
}

/// Seed 000 (百日稽核) as a plan: five institution groups with their floors (1/2, 1/3,
/// 100 %, 1/2, 1/2) over 7-20 … 10-31 in 3 rounds, rule coverage: at the end each group's
/// drawn count is exactly its goal rounded up, and no institution is drawn twice.
#[tokio::test]
async fn seed_000_plan_meets_each_coverage_floor_exactly_in_three_rounds() {
    let (app, _clock) = spawn_app_at(NOW).await;
    let mut n = 0u32;
    let mut add = |count: u32,
                   kind: &'static str,
                   level: &'static str,
                   own: &'static str,
                   tags: &'static [&'static str]| {
        let v: Vec<Value> = (0..count)
            .map(|_| {
                n += 1;
                institution(n, kind, level, own, "B", tags)
            })
            .collect();
        v
    };
    let mut bodies = Vec::new();
    bodies.extend(add(
        9,
        "designated_hospital",
        "community",
        "private",
        &["非统筹"],
    ));
    bodies.extend(add(10, "retail_pharmacy", "none", "private", &[]));
    bodies.extend(add(3, "designated_hospital", "tertiary", "public", &[]));
    bodies.extend(add(5, "designated_hospital", "secondary", "private", &[]));
    bodies.extend(add(7, "designated_hospital", "primary", "public", &[]));
    for b in bodies {
        app.institution(b).await;
    }
    inspectors(&app, 8).await;
    let plan = json!({
        "title": "基本医疗保险支付检查暨“百日稽核”专项行动", "year": 2023, "lead_department": MI,
        "departments": [{"code": MI, "team_size": 2}],
        "groups": [
            {"id": "g1", "name": "非统筹定点医疗机构组", "responsible_unit": "医疗管理二科",
             "filter": {"tags": ["非统筹"]}, "goal": {"num": 1, "den": 2}},
            {"id": "g2", "name": "定点零售药店组", "responsible_unit": "医疗管理三科",
             "filter": {"kind": ["retail_pharmacy"]}, "goal": {"num": 1, "den": 3}},
            {"id": "g3", "name": "三级医院组", "responsible_unit": "医疗管理一科",
             "filter": {"kind": ["designated_hospital"], "level": ["tertiary"]}, "goal": "full"},
            {"id": "g4", "name": "民营二级医院组", "responsible_unit": "医疗管理一科",
             "filter": {"kind": ["designated_hospital"], "level": ["secondary"], "ownership": ["private"]},
             "goal": {"num": 1, "den": 2}},
            {"id": "g5", "name": "公立二级及以下医院组", "responsible_unit": "医疗管理二科",
             "filter": {"kind": ["designated_hospital"], "level": ["secondary", "primary", "community"], "ownership": ["public"]},
             "goal": {"num": 1, "den": 2}}
        ],
        "rounds": [{"start": "2023-07-20", "end": "2023-08-15"}, {"start": "2023-08-16", "end": "2023-09-30"},
                   {"start": "2023-10-01", "end": "2023-10-31"}],
        "phases": [{"name": "动员部署", "start": "2023-07-20", "end": "2023-07-31"},
                   {"name": "梳理自查", "start": "2023-08-01", "end": "2023-08-10"},
                   {"name": "巡查整治", "start": "2023-08-11", "end": "2023-10-20"},
                   {"name": "规范总结", "start": "2023-10-21", "end": "2023-10-31"}],
        "rule": "coverage", "inspection_method": "on_site"
    });
    let id = create_plan(&app, plan).await;
    publish(&app, &id).await;
    let mut seen: HashSet<String> = HashSet::new();
    let mut per_group: HashMap<String, usize> = HashMap::new();
    for r in 1..=3 {
        let t = round_task(&app, &id, r, &[MI]).await;
        commit_all(&app, &t, &[MI]).await;
        let (_, drawn) = seal_and_draw(&app, &t, &[MI]).await;
        for (g, list) in drawn {
            *per_group.entry(g).or_default() += list.len();
            for i in list {
                assert!(seen.insert(i), "an institution was drawn twice");
            }
        }
    }
    let expected = [("g1", 5), ("g2", 4), ("g3", 3), ("g4", 3), ("g5", 4)];
    for (g, k) in expected {
        assert_eq!(
            per_group.get(g).copied().unwrap_or(0),
            k,
            "group {g}: {per_group:?}"
        );
    }
    let p = app
        .get(&format!("/api/v1/plans/{id}/progress"), &app.auditor())
        .await
        .expect(200);
    for (i, (_, k)) in expected.iter().enumerate() {
        assert_eq!(p.body["groups"][i]["goal"], *k);
        assert_eq!(p.body["groups"][i]["drawn"], *k);
        assert_eq!(p.body["groups"][i]["remaining"], 0);
    }
}

/// Risk-graded ratios A 5 %, B 10 %, C 30 %, D 60 %: every grade present is sampled
/// (不免抽), each at its own ratio.
#[tokio::test]
async fn risk_graded_ratios_sample_every_present_grade() {
    let (app, _clock) = spawn_app_at(NOW).await;
    let mut n = 0;
    for (grade, count) in [("A", 30u32), ("B", 20), ("C", 10), ("D", 5)] {
        for _ in 0..count {
            n += 1;
            app.institution(institution(
                n,
                "retail_pharmacy",
                "none",
                "private",
                grade,
                &[],
            ))
            .await;
        }
    }
    inspectors(&app, 6).await;
    let plan = json!({
        "title": "信用风险分类抽查", "year": 2023, "lead_department": MI,
        "departments": [{"code": MI, "team_size": 2}],
        "groups": [{"id": "pharmacies", "name": "定点零售药店", "filter": {"kind": ["retail_pharmacy"]},
                    "ratio": {"num": 5, "den": 100},
                    "risk_ratios": [{"grade": "A", "ratio": {"num": 5, "den": 100}},
                                    {"grade": "B", "ratio": {"num": 10, "den": 100}},
                                    {"grade": "C", "ratio": {"num": 30, "den": 100}},
                                    {"grade": "D", "ratio": {"num": 60, "den": 100}}]}],
        "rounds": [{"start": "2023-08-01", "end": "2023-08-31"}],
        "rule": "no_repeat"
    });
    let id = create_plan(&app, plan).await;
    publish(&app, &id).await;
    let t = round_task(&app, &id, 1, &[MI]).await;
    commit_all(&app, &t, &[MI]).await;
    let (_, drawn) = seal_and_draw(&app, &t, &[MI]).await;
    // ceil(30 × 5 %) = 2, ceil(20 × 10 %) = 2, ceil(10 × 30 %) = 3, ceil(5 × 60 %) = 3.
    for (stratum, k) in [
        ("pharmacies-A", 2),
        ("pharmacies-B", 2),
        ("pharmacies-C", 3),
        ("pharmacies-D", 3),
    ] {
        assert_eq!(count(&drawn, stratum), k, "{stratum}: {drawn:?}");
    }
    assert_eq!(count(&drawn, "pharmacies-other"), 0);
}

/// Seed 001 as a plan of the city (mi-1506): 3,823 medical institutions (village clinics
/// included) + 689 pharmacies in three counties, `coverage: full` in 4 quarterly rounds,
/// county-level cross-region teams (交叉检查: 10 inspectors per county, nobody inspects
/// his own county): every institution is drawn exactly once in the year, and the last
/// round's exclusions verify against the three earlier bundles.
#[tokio::test]
async fn seed_001_plan_covers_every_institution_exactly_once_in_four_rounds() {
    let (app, _clock) = spawn_app_at(NOW).await;
    let mut csv = String::from(
        "credit_code,name,kind,level,ownership,region,address,risk_grade,status,tags\n",
    );
    for n in 0..4512u32 {
        let (kind, level) = match n {
            0..=999 => ("designated_hospital", "primary"),
            1000..=3822 => ("village_clinic", "none"),
            _ => ("retail_pharmacy", "none"),
        };
        let code = credit_code(&format!("9115060{n:010}"));
        csv.push_str(&format!(
            "{code},机构{n},{kind},{level},private,{},,B,active,\n",
            ["150602", "150621", "150622"][n as usize % 3]
        ));
    }
    let r = app
        .upload(
            "/api/v1/institutions/import",
            &app.admin(),
            "text/csv",
            csv.into_bytes(),
        )
        .await
        .expect(200);
    assert_eq!(r.body["inserted"], 4512, "{}", r.text);
    let tree = json!([{"code": "mi-1506", "name": "鄂尔多斯市医疗保障局", "level": "city",
         "region_prefix": "1506", "department": MI}]);
    app.upload(
        "/api/v1/organizations/import",
        &app.admin(),
        "application/json",
        serde_json::to_vec(&tree).unwrap(),
    )
    .await
    .expect(200);
    let mut inspector_region: HashMap<String, String> = HashMap::new();
    for i in 0..30 {
        let region = ["150602", "150621", "150622"][i % 3];
        let id = app
            .inspector(inspector_body(MI, &format!("YB{i:04}"), region))
            .await;
        inspector_region.insert(id, region.to_owned());
    }
    let plan = json!({
        "title": "2023年医保定点医药机构全覆盖检查", "year": 2023, "lead_department": MI,
        "organization": "mi-1506", "cross_region": true,
        "departments": [{"code": MI, "team_size": 2}],
        "groups": [
            {"id": "medical", "name": "定点医疗机构（含村卫生室）",
             "filter": {"kind": ["designated_hospital", "village_clinic"]}, "goal": "full"},
            {"id": "pharmacies", "name": "定点零售药店", "filter": {"kind": ["retail_pharmacy"]},
             "goal": "full"}],
        "rounds": [{"start": "2023-01-01", "end": "2023-03-31"}, {"start": "2023-04-01", "end": "2023-06-30"},
                   {"start": "2023-07-01", "end": "2023-09-30"}, {"start": "2023-10-01", "end": "2023-12-31"}],
        "rule": "coverage"
    });
    let id = create_plan(&app, plan).await;
    publish(&app, &id).await;
    let mut seen: HashSet<String> = HashSet::new();
    let mut bundles = Vec::new();
    for r in 1..=4 {
        let t = round_task(&app, &id, r, &[MI]).await;
        commit_all(&app, &t, &[MI]).await;
        let (b, drawn) = seal_and_draw(&app, &t, &[MI]).await;
        // ceil(3823 / 4) = 956, then ceil(2867 / 3) = 956, ceil(1911 / 2) = 956, 955;
        // ceil(689 / 4) = 173, 172, 172, 172.
        let (m, p) = [(956, 173), (956, 172), (956, 172), (955, 172)][r as usize - 1];
        assert_eq!(
            (count(&drawn, "medical"), count(&drawn, "pharmacies")),
            (m, p)
        );
        for i in drawn.into_values().flatten() {
            assert!(seen.insert(i), "an institution was drawn twice");
        }
        let v: Value = serde_json::from_slice(&b).unwrap();
        let region_of: HashMap<&str, &str> = v["snapshot"]["strata"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["members"].as_array().unwrap())
            .map(|m| (m["id"].as_str().unwrap(), m["region"].as_str().unwrap()))
            .collect();
        for s in v["result"]["selections"].as_array().unwrap() {
            let own = region_of[s["institution"].as_str().unwrap()];
            let inspector = s["team"][0]["inspectors"][0].as_str().unwrap();
            assert_ne!(
                inspector_region[inspector], own,
                "an inspector in his own county"
            );
        }
        bundles.push(b);
    }
    assert_eq!(seen.len(), 4512);
    let earlier: Vec<AnyBundle> = bundles[..3]
        .iter()
        .map(|b| parse_bundle(b).unwrap())
        .collect();
    let AnyBundle::V2(last) = parse_bundle(&bundles[3]).unwrap() else {
        panic!("round 4 is not a /2 bundle")
    };
    assert_eq!(last.snapshot.exclusions.len(), 3);
    check_exclusions(&last, &earlier).unwrap();
}

/// Two counties of a city for medical insurance (mi-1506 → mi-150621, mi-150626), with
/// 2 hospitals and 3 pharmacies in each county.
async fn two_counties(app: &TestApp) {
    let tree = json!([
        {"code": "mi-1506", "name": "鄂尔多斯市医疗保障局", "level": "city",
         "region_prefix": "1506", "department": MI},
        {"code": "mi-150621", "name": "达拉特旗医疗保障局", "level": "county",
         "region_prefix": "150621", "parent": "mi-1506", "department": MI},
        {"code": "mi-150626", "name": "乌审旗医疗保障局", "level": "county",
         "region_prefix": "150626", "parent": "mi-1506", "department": MI}]);
    app.upload(
        "/api/v1/organizations/import",
        &app.admin(),
        "application/json",
        serde_json::to_vec(&tree).unwrap(),
    )
    .await
    .expect(200);
    let mut n = 900;
    for c in ["150621", "150626"] {
        for i in 0..5 {
            n += 1;
            let kind = if i < 2 {
                "designated_hospital"
            } else {
                "retail_pharmacy"
            };
            app.institution(institution_body(n, kind, c)).await;
        }
    }
}

fn county_plan() -> Value {
    let mut p = seed_003_plan();
    p["departments"] = json!([{"code": MI, "team_size": 2}]);
    p
}

/// A plan belongs to its creator's organization (issue 13 with issue 12): only that
/// organization, the one above it, or an admin writes it; its population is the
/// organization's region; its round task belongs to it; the public plan names it. A plan
/// created by an admin or a token without an organization belongs to the lead
/// department's default organization (everywhere).
#[tokio::test]
async fn a_plan_belongs_to_its_organization_and_its_population_to_its_region() {
    let (app, _clock) = spawn_app_at(NOW).await;
    two_counties(&app).await;
    let county = app.coordinator_in(MI, "mi-150626");
    let other = app.coordinator_in(MI, "mi-150621");
    let city = app.coordinator_in(MI, "mi-1506");
    let r = app
        .post("/api/v1/plans", &county, county_plan())
        .await
        .expect(201);
    assert_eq!(r.body["plan"]["organization"], "mi-150626", "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    // Naming an organization the caller does not govern, or of another department.
    let mut foreign = county_plan();
    foreign["organization"] = json!("mi-150621");
    let before = app.audit_len().await;
    app.post("/api/v1/plans", &county, foreign)
        .await
        .expect(403);
    let mut unknown = county_plan();
    unknown["organization"] = json!("mi-9999");
    app.post("/api/v1/plans", &county, unknown)
        .await
        .expect_problem_field(422, "organization");
    assert_eq!(app.audit_len().await, before);
    // A cross-county plan of a county is assigned by the level above.
    let mut cross = county_plan();
    cross["cross_region"] = json!(true);
    app.post("/api/v1/plans", &county, cross.clone())
        .await
        .expect(403);
    // The neighbouring county may neither edit nor publish it; the city may.
    let mut edited = county_plan();
    edited["title"] = json!("乌审旗2023年双随机抽查计划");
    app.put(&format!("/api/v1/plans/{id}"), &other, 1, edited.clone())
        .await
        .expect(403);
    app.post(&format!("/api/v1/plans/{id}/publish"), &other, json!(null))
        .await
        .expect(403);
    let r = app
        .put(&format!("/api/v1/plans/{id}"), &city, 1, edited)
        .await
        .expect(200);
    assert_eq!(r.body["plan"]["organization"], "mi-150626", "{}", r.text);
    app.post(&format!("/api/v1/plans/{id}/publish"), &city, json!(null))
        .await
        .expect(200);
    // The population is the county's: 2 hospitals and 3 pharmacies, not the city's 4 + 6.
    let progress = app
        .get(&format!("/api/v1/plans/{id}/progress"), &app.auditor())
        .await
        .expect(200);
    assert_eq!(
        progress.body["groups"][0]["population"], 2,
        "{}",
        progress.text
    );
    assert_eq!(progress.body["groups"][1]["population"], 3);
    // Its rounds' tasks belong to it too: the neighbour cannot create one, the county can.
    app.post(
        &format!("/api/v1/plans/{id}/rounds/1/task"),
        &other,
        round_input(&[MI]),
    )
    .await
    .expect(403);
    let r = app
        .post(
            &format!("/api/v1/plans/{id}/rounds/1/task"),
            &county,
            round_input(&[MI]),
        )
        .await
        .expect(201);
    assert_eq!(r.body["organization"], "mi-150626", "{}", r.text);
    // The public sees whose plan it is.
    let (_, body) = public(&app, &format!("/public/v1/plans/{id}")).await;
    assert_eq!(body["organization"], "mi-150626");
    assert_eq!(body["organization_name"], "乌审旗医疗保障局");
    assert_eq!(body["plan"]["organization"], "mi-150626");
    let (_, listed) = public(&app, "/public/v1/plans").await;
    assert_eq!(listed["items"][0]["organization"], "mi-150626", "{listed}");
    let html = page(&app, &format!("/plans/{id}")).await;
    assert!(html.contains("乌审旗医疗保障局"), "{html}");
    // CORS like every /public/v1 route: preflight answered, ETag exposed, 304 on match.
    for path in [
        "/public/v1/plans".to_string(),
        format!("/public/v1/plans/{id}"),
    ] {
        let r = app
            .send(
                reqwest::Method::OPTIONS,
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
        let g = app
            .send(
                reqwest::Method::GET,
                &path,
                None,
                None,
                &[("origin", "https://portal.example")],
            )
            .await
            .expect(200);
        assert_eq!(g.header("access-control-allow-origin"), "*", "{path}");
        assert!(
            g.header("access-control-expose-headers")
                .to_ascii_lowercase()
                .contains("etag"),
            "{path}"
        );
        let etag = g.header("etag").to_owned();
        app.send(
            reqwest::Method::GET,
            &path,
            None,
            None,
            &[("if-none-match", etag.as_str())],
        )
        .await
        .expect(304);
    }
    // The city's cross-county plan is allowed; an admin's plan is the department's.
    app.post("/api/v1/plans", &city, cross).await.expect(201);
    let mut formula = county_plan();
    formula["groups"][0]["responsible_unit"] = json!("=HYPERLINK(\"http://x\",\"科\")");
    let r = app
        .post("/api/v1/plans", &app.admin(), formula)
        .await
        .expect(201);
    assert_eq!(r.body["plan"]["organization"], MI);
    // Exports neutralize formulas: the CSV cell gets an apostrophe, the XLSX cell is text.
    let admin_plan = r.body["id"].as_str().unwrap().to_owned();
    let (_, csv) = app
        .download(
            &format!("/api/v1/plans/{admin_plan}/export.csv"),
            &app.auditor(),
        )
        .await;
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    let (headers, xlsx) = app
        .download(
            &format!("/api/v1/plans/{admin_plan}/export.xlsx"),
            &app.auditor(),
        )
        .await;
    assert_eq!(
        headers["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let rows = xlsx_rows(xlsx);
    assert_eq!(rows[1][3], "=HYPERLINK(\"http://x\",\"科\")", "{rows:?}");
}

/// The cells of an XLSX file's first sheet, as text (a formula cell would read empty).
fn xlsx_rows(bytes: Vec<u8>) -> Vec<Vec<String>> {
    use calamine::Reader as _;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// A standalone suiji-draw/2 task over the seed 003 county drawing every hospital and
/// 5 % of the pharmacies.
fn all_hospitals_task() -> Value {
    let mut t = seed_003_task();
    let o = t.as_object_mut().unwrap();
    o.remove("protocol");
    o.insert("reveal_deadline".into(), json!(DEADLINE));
    o["strata"][0]["ratio"] = json!({"num": 1, "den": 1});
    o["entropy_plan"] = json!([{"source": "department:medical_insurance"},
        {"source": "department:health"}, {"source": "department:market_regulation"}]);
    t
}

/// The yearly cap (`SUIJI_YEARLY_CAP=total=2`) across tasks: the seed 003 county's 7
/// hospitals drawn by two tasks this year are not in a third task's pool; they are its
/// /2 exclusions with `basis: "yearly_cap"`, under both earlier tasks, and the exclusions
/// verify against those tasks' bundles (`suiji verify --previous`), and only with them.
#[tokio::test]
async fn an_institution_drawn_as_often_as_the_yearly_cap_allows_is_excluded_provably() {
    let clock = suiji::domain::Clock::simulated(instant(NOW));
    let shared = clock.clone();
    let app = spawn_app_with(move |c| {
        c.clock = shared;
        c.yearly_cap = "total=2".parse().unwrap();
    })
    .await;
    let county = seed_003_county(&app).await;
    let depts = [MI, HEALTH, MR];
    let mut bundles = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let id = create_task(&app, all_hospitals_task()).await;
        commit_all(&app, &id, &depts).await;
        let (b, drawn) = seal_and_draw(&app, &id, &depts).await;
        assert_eq!(count(&drawn, "designated_hospitals"), 7);
        let AnyBundle::V2(b2) = parse_bundle(&b).unwrap() else {
            panic!("not /2")
        };
        // The second task's pool still holds every hospital (drawn once so far).
        assert!(b2.snapshot.exclusions.is_empty());
        bundles.push(b);
        ids.push(id);
    }
    let third = create_task(&app, all_hospitals_task()).await;
    commit_all(&app, &third, &depts).await;
    let (b3, drawn3) = seal_and_draw(&app, &third, &depts).await;
    assert_eq!(count(&drawn3, "designated_hospitals"), 0);
    assert_eq!(count(&drawn3, "retail_pharmacies"), 4);
    let AnyBundle::V2(b3v) = parse_bundle(&b3).unwrap() else {
        panic!("not /2")
    };
    parse_bundle(&b3).unwrap().verify().unwrap();
    let mut hospitals = county.hospitals.clone();
    hospitals.sort();
    let mut expected = ids.clone();
    expected.sort();
    let listed: Vec<&String> = b3v.snapshot.exclusions.iter().map(|e| &e.task).collect();
    assert_eq!(listed, expected.iter().collect::<Vec<_>>());
    // Capped: what both earlier tasks drew — every hospital, and any pharmacy both drew.
    let drawn: Vec<HashSet<String>> = bundles
        .iter()
        .map(|b| parse_bundle(b).unwrap().drawn().into_iter().collect())
        .collect();
    let mut capped: Vec<String> = drawn[0].intersection(&drawn[1]).cloned().collect();
    capped.sort();
    assert!(hospitals.iter().all(|h| capped.contains(h)));
    for e in &b3v.snapshot.exclusions {
        assert_eq!(e.basis.as_deref(), Some("yearly_cap"));
        assert_eq!(e.institutions, capped);
    }
    let pool: HashSet<&String> = b3v
        .snapshot
        .strata
        .iter()
        .flat_map(|s| s.members.iter().map(|m| &m.id))
        .collect();
    assert!(hospitals.iter().all(|h| !pool.contains(h)));
    let previous: Vec<AnyBundle> = bundles.iter().map(|b| parse_bundle(b).unwrap()).collect();
    check_exclusions(&b3v, &previous).unwrap();
    assert!(check_exclusions(&b3v, &previous[..1]).is_err());
    // A forged cap exclusion naming a pharmacy the earlier tasks never drew fails.
    let drawn_before: HashSet<String> = previous.iter().flat_map(|p| p.drawn()).collect();
    let never = county
        .pharmacies
        .iter()
        .find(|p| !drawn_before.contains(*p))
        .unwrap();
    let mut forged = b3v.clone();
    forged.snapshot.exclusions[0]
        .institutions
        .push(never.clone());
    forged.snapshot.exclusions[0].institutions.sort();
    let f = check_exclusions(&forged, &previous).unwrap_err();
    assert!(f.reason.contains(never.as_str()), "{f}");
}

/// Every (institution, inspector) pair of a bundle's teams.
fn team_pairs(bundle: &[u8]) -> HashSet<(String, String)> {
    let b: Value = serde_json::from_slice(bundle).unwrap();
    let mut out = HashSet::new();
    for s in b["result"]["selections"].as_array().unwrap() {
        for t in s["team"].as_array().unwrap() {
            for i in t["inspectors"].as_array().unwrap() {
                out.insert((
                    s["institution"].as_str().unwrap().to_owned(),
                    i.as_str().unwrap().to_owned(),
                ));
            }
        }
    }
    out
}

/// 轮换: with `rotation`, a round's teams keep away every inspector who inspected the
/// institution the year before; the pairs are conflicts leaves of the round's pool (so the
/// conflicts root commits to them and the bundle verifies).
#[tokio::test]
async fn with_rotation_nobody_inspects_again_what_he_inspected_the_year_before() {
    let (app, _clock) = spawn_app_at(NOW).await;
    seed_003_county(&app).await;
    let depts = [MI, HEALTH, MR];
    let mut last_year = all_hospitals_task();
    last_year["year"] = json!(2022);
    last_year["inspection_start"] = json!("2022-08-01");
    last_year["inspection_end"] = json!("2022-08-31");
    let t0 = create_task(&app, last_year).await;
    commit_all(&app, &t0, &depts).await;
    let (b0, drawn0) = seal_and_draw(&app, &t0, &depts).await;
    assert_eq!(count(&drawn0, "designated_hospitals"), 7);
    // Who inspected which hospital last year (the task drew pharmacies too).
    let hospitals: HashSet<&String> = drawn0["designated_hospitals"].iter().collect();
    let before: HashSet<(String, String)> = team_pairs(&b0)
        .into_iter()
        .filter(|(x, _)| hospitals.contains(x))
        .collect();
    assert_eq!(before.len(), 7 * 4);

    let mut plan = seed_003_plan();
    plan["groups"] = json!([{"id": "designated_hospitals", "name": "定点医院",
        "filter": {"kind": ["designated_hospital"]}, "ratio": {"num": 1, "den": 1}}]);
    plan["rounds"] = json!([{"start": "2023-08-01", "end": "2023-08-31"}]);
    plan["rotation"] = json!(true);
    let id = create_plan(&app, plan).await;
    let got = app
        .get(&format!("/api/v1/plans/{id}"), &app.auditor())
        .await
        .expect(200);
    assert_eq!(got.body["plan"]["rotation"], true);
    publish(&app, &id).await;
    let t1 = round_task(&app, &id, 1, &depts).await;
    commit_all(&app, &t1, &depts).await;
    let (b1, drawn1) = seal_and_draw(&app, &t1, &depts).await;
    assert_eq!(count(&drawn1, "designated_hospitals"), 7);
    let now = team_pairs(&b1);
    assert_eq!(now.len(), 7 * 4);
    assert!(
        now.is_disjoint(&before),
        "an inspector went back to a hospital he inspected last year"
    );
    // The pairs are in the conflicts leaves the bundle discloses, and it verifies.
    parse_bundle(&b1).unwrap().verify().unwrap();
    let b: Value = serde_json::from_slice(&b1).unwrap();
    let leaves = b["conflicts"]["full"]
        .as_array()
        .or(b["conflicts"]["proofs"].as_array())
        .unwrap();
    let mut committed = HashSet::new();
    for l in leaves {
        for i in l["inspectors"].as_array().unwrap() {
            committed.insert((
                l["institution"].as_str().unwrap().to_owned(),
                i.as_str().unwrap().to_owned(),
            ));
        }
    }
    assert!(
        before.is_subset(&committed),
        "rotation pairs missing from the leaves"
    );
}
