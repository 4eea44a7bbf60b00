//! Targeted inspections (定向, issue 14 part 5): institutions named with a reason, teams
//! drawn at random with recusal through the /2 lifecycle, published as 定向.

use crate::helpers::*;
use serde_json::{Value, json};

const SEALED_AT: &str = "2023-09-15T10:00:00Z";
const DEADLINE: &str = "2023-09-15T10:30:00Z";

fn targeted_task(targets: Value) -> Value {
    let mut t = seed_003_task_v2(DEADLINE);
    let o = t.as_object_mut().unwrap();
    o.remove("strata");
    o.insert("title".into(), json!("2023年医保基金定向检查"));
    o.insert("mode".into(), json!("targeted"));
    o.insert("targets".into(), targets);
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

#[tokio::test]
async fn a_targeted_task_names_three_institutions_draws_their_teams_and_is_published_as_targeted() {
    let (app, clock) = spawn_app_at(SEALED_AT).await;
    let county = seed_003_county(&app).await;
    let named = [
        county.hospitals[0].clone(),
        county.pharmacies[3].clone(),
        county.pharmacies[40].clone(),
    ];
    // An inspector who must stay away from the first named hospital (recusal).
    let mut body = inspector_body(MI, "YB9999", "150602");
    body["conflicts"] = json!([{"institution": named[0], "reason": "原工作单位"}]);
    let recused = app.inspector(body).await;
    let targets = json!([
        {"institution": named[0], "reason_kind": "clue", "reason": "举报：挂床住院（线索 2023-017，举报人信息保密）"},
        {"institution": named[1], "reason_kind": "monitoring_alert", "reason": "智能监控：串换药品预警 12 次"},
        {"institution": named[2], "reason_kind": "complaint", "reason": "参保人投诉：空刷医保卡"},
    ]);
    let mi = app.coordinator(MI);
    let created = app
        .post("/api/v1/tasks", &mi, targeted_task(targets))
        .await
        .expect(201)
        .body;
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["mode"], "targeted", "{created}");
    assert_eq!(created["strata"][0]["id"], "targeted");
    assert_eq!(created["strata"][0]["ratio"], json!({"num": 1, "den": 1}));
    let path = |step: &str| format!("/api/v1/tasks/{id}/{step}");
    commit_all(&app, &id, &[MI, HEALTH, MR]).await;
    app.post(&path("seal"), &mi, json!(null)).await.expect(200);
    // The announcement shows one stratum holding exactly the three named institutions.
    let (status, a) = public(&app, &format!("/public/v1/tasks/{id}/announcement")).await;
    assert_eq!(status, 200, "{a}");
    let a: Value = serde_json::from_str(&a).unwrap();
    assert_eq!(a["strata"].as_array().unwrap().len(), 1, "{a}");
    assert_eq!(a["strata"][0]["members"], 3, "{a}");
    reveal_all(&app, &id, &[MI, HEALTH, MR], false).await;
    clock.set(instant("2023-09-15T11:05:00Z"));
    app.post(
        &path("reveals"),
        &mi,
        json!({"source": "beacon:drand-quicknet", "value": ROUND_657413.1}),
    )
    .await
    .expect(201);
    let drawn = app
        .post(&path("draw"), &mi, json!(null))
        .await
        .expect(200)
        .body;
    let selections = drawn["selections"].as_array().unwrap();
    let mut got: Vec<&str> = selections
        .iter()
        .map(|s| s["institution"].as_str().unwrap())
        .collect();
    got.sort();
    let mut want: Vec<&str> = named.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(got, want, "exactly the named institutions, no other");
    for s in selections {
        assert_eq!(s["stratum"], "targeted");
        let team = s["team"].as_array().unwrap();
        let size = |d: &str| {
            team.iter().find(|t| t["department"] == d).unwrap()["inspectors"]
                .as_array()
                .unwrap()
                .len()
        };
        assert_eq!((size(MI), size(HEALTH), size(MR)), (2, 1, 1), "{s}");
        if s["institution"] == named[0].as_str() {
            assert!(!s.to_string().contains(&recused), "recusal ignored: {s}");
        }
    }
    // The bundle shows the institutions were named: one stratum `targeted` at 1/1.
    let b: Value = serde_json::from_slice(&bundle(&app, &id).await).unwrap();
    let strata = &b["snapshot"]["strata"];
    assert_eq!(strata.as_array().unwrap().len(), 1, "{b}");
    assert_eq!(strata[0]["id"], "targeted");
    assert_eq!(strata[0]["ratio"], json!({"num": 1, "den": 1}));
    assert_eq!(strata[0]["members"].as_array().unwrap().len(), 3);

    app.post(&path("publish"), &mi, json!(null))
        .await
        .expect(200);
    // Public JSON: mode and the kind of each reason, never the reason's text.
    let (_, t) = public(&app, &format!("/public/v1/tasks/{id}")).await;
    let tv: Value = serde_json::from_str(&t).unwrap();
    assert_eq!(tv["mode"], "targeted", "{t}");
    assert_eq!(tv["mode_zh"], "定向");
    assert_eq!(tv["targets"].as_array().unwrap().len(), 3);
    assert!(
        t.contains("monitoring_alert") && t.contains("监测预警"),
        "{t}"
    );
    assert!(
        !t.contains("挂床住院") && !t.contains("串换药品"),
        "private reason leaked: {t}"
    );
    let (_, list) = public(&app, "/public/v1/tasks").await;
    let list: Value = serde_json::from_str(&list).unwrap();
    let item = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id.as_str())
        .unwrap();
    assert_eq!(item["mode"], "targeted");
    // The portal: the index and the task page say 定向.
    let (_, index) = public(&app, "/").await;
    assert!(index.contains("定向 Targeted"), "{index}");
    let (_, page) = public(&app, &format!("/tasks/{id}")).await;
    assert!(page.contains("定向检查 Targeted"), "{page}");
    assert!(page.contains("定向检查（举报线索）"), "{page}");
    assert!(!page.contains("挂床住院"), "private reason on the portal");
    let (_, feed) = public(&app, "/public/v1/feed.atom").await;
    assert!(feed.contains("公布定向检查名单"), "{feed}");
}

#[tokio::test]
async fn a_random_task_stays_random_and_bad_targets_are_refused_naming_the_field() {
    let (app, _clock) = spawn_app_at(SEALED_AT).await;
    let county = seed_003_county(&app).await;
    let mi = app.coordinator(MI);
    let before = app.audit_len().await;
    let one = |inst: &str| json!([{"institution": inst, "reason_kind": "clue", "reason": "线索"}]);
    // Unknown institution; the same one twice; none; strata given; a random task naming
    // institutions; a reason kind nobody knows; /1.
    app.post(
        "/api/v1/tasks",
        &mi,
        targeted_task(one("no-such-institution")),
    )
    .await
    .expect_problem_field(422, "targets[0].institution");
    let h = &county.hospitals[0];
    let twice = json!([{"institution": h, "reason_kind": "clue", "reason": "a"},
                       {"institution": h, "reason_kind": "complaint", "reason": "b"}]);
    app.post("/api/v1/tasks", &mi, targeted_task(twice))
        .await
        .expect_problem_field(422, "targets[1].institution");
    app.post("/api/v1/tasks", &mi, targeted_task(json!([])))
        .await
        .expect_problem_field(422, "targets");
    let mut with_strata = targeted_task(one(h));
    with_strata["strata"] = seed_003_task()["strata"].clone();
    app.post("/api/v1/tasks", &mi, with_strata)
        .await
        .expect_problem_field(422, "strata");
    let mut random = seed_003_task_v2(DEADLINE);
    random["targets"] = one(h);
    app.post("/api/v1/tasks", &mi, random)
        .await
        .expect_problem_field(422, "targets");
    let mut reserved = seed_003_task_v2(DEADLINE);
    reserved["strata"][0]["id"] = json!("targeted");
    app.post("/api/v1/tasks", &mi, reserved)
        .await
        .expect_problem_field(422, "strata[0].id");
    let bad_kind = json!([{"institution": h, "reason_kind": "hunch", "reason": "x"}]);
    app.post("/api/v1/tasks", &mi, targeted_task(bad_kind))
        .await
        .expect(422);
    let mut v1 = targeted_task(one(h));
    v1["protocol"] = json!("suiji-draw/1");
    app.post("/api/v1/tasks", &mi, v1)
        .await
        .expect_problem_field(422, "protocol");
    assert_eq!(
        app.audit_len().await,
        before,
        "a refused request wrote nothing"
    );
    // A task created without a mode is random.
    let r = app
        .post("/api/v1/tasks", &mi, seed_003_task_v2(DEADLINE))
        .await
        .expect(201);
    assert!(r.body["mode"].is_null() || r.body["mode"] == "random");
}
