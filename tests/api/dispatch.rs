//! Dispatch (issue 12, #7): tasks by participating department, a department's inbox,
//! an inspector's assignments after a draw and a replacement.

use crate::helpers::*;
use serde_json::{Value, json};

async fn inbox(app: &TestApp, dept: &str) -> Vec<(String, String, Option<String>)> {
    let r = app
        .get("/api/v1/inbox", &app.coordinator(dept))
        .await
        .expect(200);
    assert_eq!(r.body["department"], dept);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["task_id"].as_str().unwrap().to_string(),
                i["step"].as_str().unwrap().to_string(),
                i["source"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn steps(items: &[(String, String, Option<String>)], id: &str) -> Vec<String> {
    items
        .iter()
        .filter(|i| i.0 == id)
        .map(|i| match &i.2 {
            Some(s) => format!("{} {s}", i.1),
            None => i.1.clone(),
        })
        .collect()
}

#[tokio::test]
async fn the_inbox_follows_each_departments_step() {
    let app = spawn_app().await;
    let s = Scenario::seed003(&app).await;
    let id = s.id.clone();

    assert_eq!(
        steps(&inbox(&app, HEALTH).await, &id),
        ["commit department:health"]
    );
    assert_eq!(
        steps(&inbox(&app, MI).await, &id),
        ["commit department:medical_insurance"]
    );
    // Admins and auditors name the department; a coordinator reads only its own.
    app.get("/api/v1/inbox", &app.admin())
        .await
        .expect_problem_field(422, "department");
    app.get("/api/v1/inbox?department=health", &app.auditor())
        .await
        .expect(200);
    app.get(
        "/api/v1/inbox?department=medical_insurance",
        &app.coordinator(HEALTH),
    )
    .await
    .expect(403);
    app.get("/api/v1/inbox?department=Not%20a%20code", &app.admin())
        .await
        .expect_problem_field(422, "department");

    let s = s.committed().await;
    assert!(steps(&inbox(&app, HEALTH).await, &id).is_empty());
    assert_eq!(steps(&inbox(&app, MI).await, &id), ["seal"]);

    let s = s.sealed().await;
    assert_eq!(
        steps(&inbox(&app, HEALTH).await, &id),
        ["reveal department:health"]
    );
    assert_eq!(
        steps(&inbox(&app, MI).await, &id),
        [
            "reveal beacon:drand-quicknet",
            "reveal department:medical_insurance"
        ]
    );

    let s = s.revealed().await;
    assert!(steps(&inbox(&app, HEALTH).await, &id).is_empty());
    assert_eq!(steps(&inbox(&app, MI).await, &id), ["draw"]);

    let s = s.drawn().await;
    let drawn = s.institutions().len() as i64;
    // 谁检查、谁录入: every department of the joint task owes its own part.
    assert_eq!(steps(&inbox(&app, HEALTH).await, &id), ["results"]);
    let r = app
        .get("/api/v1/inbox", &app.coordinator(MI))
        .await
        .expect(200);
    let items: Vec<&Value> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["task_id"] == id.as_str())
        .collect();
    assert_eq!(items.len(), 2, "{}", r.text);
    assert_eq!(items[0]["step"], "publish");
    assert_eq!(items[0]["deadline"], "2023-08-01");
    assert_eq!(items[1]["step"], "results");
    assert_eq!(items[1]["missing"], drawn);
    assert!(items[1]["deadline"].as_str().unwrap().starts_with("2023-"));

    let s = s.with_results().await;
    assert!(steps(&inbox(&app, MI).await, &id).is_empty());
    drop(s);
}

#[tokio::test]
async fn tasks_filter_by_participating_department() {
    let app = spawn_app().await;
    seed_003_county(&app).await;
    let joint = create_task(&app, seed_003_task()).await;
    let mut alone = seed_003_task();
    alone["departments"] = json!([{"code": MI, "team_size": 2}]);
    alone["entropy_plan"] = json!([{"source": "department:medical_insurance"},
                                   {"source": "beacon:drand-quicknet", "note": "round 3500000"}]);
    let alone = create_task(&app, alone).await;

    let ids = |r: &Reply| -> Vec<String> {
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    };
    let r = app
        .get(
            "/api/v1/tasks?participating_department=health",
            &app.auditor(),
        )
        .await
        .expect(200);
    assert_eq!(ids(&r), vec![joint.clone()]);
    let r = app
        .get(
            "/api/v1/tasks?participating_department=health,medical_insurance",
            &app.auditor(),
        )
        .await
        .expect(200);
    assert_eq!(ids(&r), [joint.clone(), alone.clone()]);
    let r = app
        .get(
            "/api/v1/tasks?participating_department=market_regulation&state=sealed",
            &app.auditor(),
        )
        .await
        .expect(200);
    assert!(ids(&r).is_empty());
    app.get(
        "/api/v1/tasks?participating_department=Health!",
        &app.auditor(),
    )
    .await
    .expect_problem_field(422, "participating_department");
    let many = vec!["health"; 201].join(",");
    app.get(
        &format!("/api/v1/tasks?participating_department={many}"),
        &app.auditor(),
    )
    .await
    .expect_problem_field(422, "participating_department");
}

#[tokio::test]
async fn assignments_show_drawn_teams_and_replacements() {
    let app = spawn_app().await;
    let s = Scenario::seed003(&app).await.drawn().await;
    let id = s.id.clone();
    let first = s.task["selections"][0].clone();
    let inst = first["institution"].as_str().unwrap().to_string();
    let leader = first["leader"].as_str().unwrap().to_string();
    let health_member = first["team"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["department"] == HEALTH)
        .unwrap()["inspectors"][0]
        .as_str()
        .unwrap()
        .to_string();

    let of = |who: &str| format!("/api/v1/inspectors/{who}/assignments");
    let r = app.get(&of(&leader), &app.auditor()).await.expect(200);
    let mine = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["institution"] == inst.as_str())
        .unwrap()
        .clone();
    assert_eq!(mine["task_id"], id.as_str());
    assert_eq!(mine["department"], MI);
    assert_eq!(mine["role"], "leader");
    assert_eq!(mine["via"], "draw");
    assert_eq!(mine["replaced"], false);
    assert_eq!(mine["state"], "drawn");
    assert!(!mine["institution_name"].as_str().unwrap().is_empty());
    assert_eq!(r.body["next_cursor"], Value::Null);
    let r = app
        .get(&of(&health_member), &app.coordinator(HEALTH))
        .await
        .expect(200);
    assert!(r.body["items"].as_array().unwrap().iter().any(|a| {
        a["institution"] == inst.as_str() && a["role"] == "member" && a["department"] == HEALTH
    }));

    // The leader is replaced: his assignment stays, marked replaced; the substitute's
    // shows the replacement and takes the leader's place.
    let rep = app
        .post(
            &format!("/api/v1/tasks/{id}/replacements"),
            &app.coordinator(MI),
            json!({"institution": inst, "department": MI, "out": leader, "reason": "回避：近亲属在该机构任职"}),
        )
        .await
        .expect(201);
    let substitute = rep.body["in"].as_str().unwrap().to_string();
    let r = app.get(&of(&leader), &app.auditor()).await.expect(200);
    let old = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["institution"] == inst.as_str())
        .unwrap()
        .clone();
    assert_eq!(old["replaced"], true);
    assert_eq!(old["replaced_by"], substitute.as_str());
    assert_eq!(old["replaced_reason"], "回避：近亲属在该机构任职");
    let r = app.get(&of(&substitute), &app.auditor()).await.expect(200);
    let new = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["institution"] == inst.as_str() && a["via"] == "replacement")
        .unwrap()
        .clone();
    assert_eq!(new["role"], "leader");
    assert_eq!(new["replacement_seq"], 1);
    assert_eq!(new["replaced"], false);

    // Paging by task, unknown inspector, bad cursor.
    let r = app
        .get(&format!("{}?limit=1", of(&leader)), &app.auditor())
        .await
        .expect(200);
    assert_eq!(r.body["next_cursor"], Value::Null);
    app.get(&of("00000000-0000-7000-8000-000000000000"), &app.auditor())
        .await
        .expect(404);
    app.get(&format!("{}?cursor=zzz", of(&leader)), &app.auditor())
        .await
        .expect_problem_field(422, "cursor");
    app.get(&format!("{}?limit=0", of(&leader)), &app.auditor())
        .await
        .expect_problem_field(422, "limit");
}
