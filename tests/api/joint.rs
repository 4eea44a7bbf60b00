//! Joint fieldwork (issue 12, points 3–5): items by department and institution kind, each
//! department's own part of a result, the combined result, the overdue report per
//! department, the public item list and the check form.

use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

/// Seed 003's item lists (9 hospital and 7 pharmacy items of medical insurance, health's
/// and market regulation's duties), as `samples/items-seed003.json` ships them.
pub fn seed_003_items() -> Vec<Value> {
    serde_json::from_str(include_str!("../../samples/items-seed003.json")).unwrap()
}

/// Registers seed 003's items, each by its own department's coordinator; their codes.
pub async fn register_items(app: &TestApp) -> Vec<String> {
    let mut codes = Vec::new();
    for item in seed_003_items() {
        let dept = item["department"].as_str().unwrap();
        app.post(
            "/api/v1/inspection-items",
            &app.coordinator(dept),
            item.clone(),
        )
        .await
        .expect(201);
        codes.push(item["code"].as_str().unwrap().to_string());
    }
    codes
}

/// The seed 003 county, its items, and the joint task with every item, drawn and its
/// list published: (scenario, hospital drawn, pharmacy drawn).
async fn joint_task(app: &TestApp) -> (Scenario<'_>, String, String) {
    let county = seed_003_county(app).await;
    let codes = register_items(app).await;
    let mut body = seed_003_task();
    body["items"] = json!(codes);
    let id = create_task(app, body).await;
    let s = Scenario {
        app,
        county,
        id,
        task: Value::Null,
        stage: Stage::Draft,
    }
    .published()
    .await;
    let insts = s.institutions();
    let hospital = insts
        .iter()
        .find(|i| s.county.hospitals.contains(i))
        .unwrap()
        .clone();
    let pharmacy = insts
        .iter()
        .find(|i| s.county.pharmacies.contains(i))
        .unwrap()
        .clone();
    (s, hospital, pharmacy)
}

fn part_path(id: &str, inst: &str, dept: &str) -> String {
    format!("/api/v1/tasks/{id}/results/{inst}/departments/{dept}")
}

async fn put(app: &TestApp, path: &str, token: &str, body: &Value) -> Reply {
    app.send(Method::PUT, path, Some(token), Some(body), &[])
        .await
}

fn part(category: &str, outcomes: Value) -> Value {
    json!({"category": category, "inspection_date": "2023-08-15", "item_outcomes": outcomes})
}

#[tokio::test]
async fn each_department_enters_its_own_part_and_the_lead_gets_the_combination() {
    let app = spawn_app().await;
    let (s, hospital, pharmacy) = joint_task(&app).await;
    let id = s.id.clone();

    // Medical insurance: a problem corrected on order, money recovered.
    let mut mi = part(
        "corrected",
        json!([{"item": "YB-H06", "outcome": "non_compliant", "note": "重复收费12笔"},
               {"item": "YB-H01", "outcome": "compliant"}]),
    );
    mi["findings"] = json!("重复收费12笔，已责令退回");
    mi["amounts"] = json!({"fund_recovered_fen": 120000, "violations": 12});
    let r = put(
        &app,
        &part_path(&id, &hospital, MI),
        &app.coordinator(MI),
        &mi,
    )
    .await
    .expect(201);
    assert_eq!(r.body["versions"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["combined_version"], Value::Null);
    assert_eq!(r.body["missing_departments"], json!([HEALTH, MR]));
    // The same part again changes nothing.
    put(
        &app,
        &part_path(&id, &hospital, MI),
        &app.coordinator(MI),
        &mi,
    )
    .await
    .expect(200);

    // A hospital item never lands on a pharmacy.
    let wrong_kind = part(
        "no_problem",
        json!([{"item": "YB-P01", "outcome": "compliant"}, {"item": "YB-H01", "outcome": "compliant"}]),
    );
    put(
        &app,
        &part_path(&id, &pharmacy, MI),
        &app.coordinator(MI),
        &wrong_kind,
    )
    .await
    .expect_problem_field(422, "item_outcomes[1].item");
    // The lead's own result for the pharmacy follows the same rule.
    put(
        &app,
        &format!("/api/v1/tasks/{id}/results/{pharmacy}"),
        &app.coordinator(MI),
        &wrong_kind,
    )
    .await
    .expect_problem_field(422, "item_outcomes[1].item");

    // Health enters only its own items, and only health (or an admin) enters health's part.
    let mut health = part(
        "follow_up_pending",
        json!([{"item": "WJ-H01", "outcome": "non_compliant", "note": "超量开药"}]),
    );
    health["follow_up"] = json!(["case_opened"]);
    health["findings"] = json!("不合理用药，已立案");
    health["amounts"] = json!({"penalty_fen": 50000, "violations": 1});
    put(
        &app,
        &part_path(&id, &hospital, HEALTH),
        &app.coordinator(MR),
        &health,
    )
    .await
    .expect(403);
    put(
        &app,
        &part_path(&id, &hospital, HEALTH),
        &app.auditor(),
        &health,
    )
    .await
    .expect(403);
    let mut other = health.clone();
    other["item_outcomes"] = json!([{"item": "YB-H06", "outcome": "compliant"}]);
    let r = put(
        &app,
        &part_path(&id, &hospital, HEALTH),
        &app.coordinator(HEALTH),
        &other,
    )
    .await
    .expect_problem_field(422, "item_outcomes[0].item");
    assert!(
        r.body.to_string().contains("department health"),
        "{}",
        r.body
    );
    put(
        &app,
        &part_path(&id, &hospital, "police"),
        &app.admin(),
        &health,
    )
    .await
    .expect(404);
    put(
        &app,
        &part_path(&id, &hospital, HEALTH),
        &app.coordinator(HEALTH),
        &health,
    )
    .await
    .expect(201);

    // Past the results deadline, market regulation is named as late for the hospital.
    let report = app
        .get("/api/v1/reports/overdue?as_of=2023-10-09", &app.auditor())
        .await
        .expect(200)
        .body;
    let item = &report["departments"][0]["items"][0];
    assert_eq!(item["kind"], "results");
    let late_at_hospital: Vec<&str> = item["missing_parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            m["institutions"]
                .as_array()
                .unwrap()
                .contains(&json!(hospital))
        })
        .map(|m| m["department"].as_str().unwrap())
        .collect();
    assert_eq!(late_at_hospital, vec![MR]);
    let drawn = s.institutions().len();
    let count = |dept: &str| {
        report["late_parts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["department"] == dept)
            .map(|l| l["missing"].as_u64().unwrap())
    };
    assert_eq!(count(MR), Some(drawn as u64));
    assert_eq!(count(HEALTH), Some(drawn as u64 - 1));
    assert_eq!(count(MI), Some(drawn as u64 - 1));

    // The last part combines them: the most serious category, amounts summed.
    let mr = part(
        "no_problem",
        json!([{"item": "SJ-H01", "outcome": "compliant"}]),
    );
    let r = put(
        &app,
        &part_path(&id, &hospital, MR),
        &app.coordinator(MR),
        &mr,
    )
    .await
    .expect(201);
    assert_eq!(r.body["combined_version"], 1);
    assert_eq!(r.body["missing_departments"], json!([]));
    let results = app
        .get(&format!("/api/v1/tasks/{id}/results"), &app.auditor())
        .await
        .expect(200)
        .body;
    let mine = results["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["institution"] == hospital.as_str())
        .unwrap();
    let combined = &mine["versions"][0];
    assert_eq!(combined["category"], "follow_up_pending");
    assert_eq!(combined["amounts"]["fund_recovered_fen"], 120000);
    assert_eq!(combined["amounts"]["penalty_fen"], 50000);
    assert_eq!(combined["amounts"]["violations"], 13);
    assert_eq!(combined["follow_up"], json!(["case_opened"]));
    assert!(
        combined["findings"]
            .as_str()
            .unwrap()
            .contains("【卫生健康委员会】不合理用药"),
        "{combined}"
    );
    assert_eq!(mine["parts"].as_array().unwrap().len(), 3);

    // Published with the result, each part under its department.
    app.post(
        &format!("/api/v1/tasks/{id}/results/publish"),
        &app.coordinator(MI),
        json!({"institutions": [hospital]}),
    )
    .await
    .expect(200);
    let public = app
        .send(
            Method::GET,
            &format!("/public/v1/tasks/{id}"),
            None,
            None,
            &[],
        )
        .await
        .expect(200)
        .body;
    let sel = public["selections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["institution"]["id"] == hospital.as_str())
        .unwrap();
    let result = &sel["result"];
    assert_eq!(result["category"], "follow_up_pending");
    let parts = result["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 3);
    let health_part = parts.iter().find(|p| p["department"] == HEALTH).unwrap();
    assert_eq!(health_part["department_name"], "卫生健康委员会");
    assert_eq!(health_part["category"], "follow_up_pending");
    assert_eq!(
        health_part["item_results"][0]["title"],
        "医疗机构及其从业人员医疗服务行为：合理检查、合理治疗、合理用药"
    );
    // Item titles, not only codes, wherever the public reads outcomes.
    assert_eq!(
        result["item_results"][0]["title"],
        "重复收费、超标准收费、分解项目收费"
    );
    let titles: Vec<&str> = public["inspection_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert!(titles.contains(&"串换药品、医用耗材、诊疗项目和服务设施"));
    let page = app
        .send(Method::GET, &format!("/tasks/{id}"), None, None, &[])
        .await
        .expect(200)
        .text;
    assert!(
        page.contains("各部门检查结果"),
        "the portal shows each part"
    );
    assert!(page.contains("卫生健康委员会</strong>：发现问题待后续处理"));
    assert!(
        page.contains("重复收费、超标准收费、分解项目收费：不符合"),
        "titles, not codes"
    );
    let csv = app
        .send(Method::GET, "/public/v1/results.csv", None, None, &[])
        .await
        .expect(200)
        .text;
    assert!(csv.contains("【医疗保障局】"), "{csv}");
    assert!(csv.contains(",items,department_parts"), "{csv}");
    assert!(
        csv.contains("卫生健康委员会：发现问题待后续处理（追回0分，罚款50000分）"),
        "{csv}"
    );
    assert!(
        csv.contains("重复收费、超标准收费、分解项目收费：不符合"),
        "{csv}"
    );

    // A published part is corrected only with a reason; the result follows.
    mi["amounts"]["fund_recovered_fen"] = json!(150000);
    put(
        &app,
        &part_path(&id, &hospital, MI),
        &app.coordinator(MI),
        &mi,
    )
    .await
    .expect_problem_field(422, "correction_reason");
    mi["correction_reason"] = json!("追回金额复核更正");
    let r = put(
        &app,
        &part_path(&id, &hospital, MI),
        &app.coordinator(MI),
        &mi,
    )
    .await
    .expect(201);
    assert_eq!(r.body["versions"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["combined_version"], 2);

    // Every step is in the audit log, and the chain with its cross-checks holds.
    let audit = app
        .get(
            "/api/v1/audit-log?action=result_part.record",
            &app.auditor(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(audit["items"].as_array().unwrap().len(), 4, "{audit}");
    let verify = app
        .get("/api/v1/audit-log/verify", &app.auditor())
        .await
        .expect(200)
        .body;
    assert_eq!(verify["ok"], true, "{verify}");

    // A part rewritten in place behind the service's back is named by the verification.
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    let unguard = if app.database_url.starts_with("postgres") {
        "ALTER TABLE result_parts DISABLE TRIGGER result_parts_publish_once"
    } else {
        "DROP TRIGGER result_parts_publish_once"
    };
    for sql in [
        unguard.to_string(),
        format!(
            "UPDATE result_parts SET data = REPLACE(data, '不合理用药', '合理用药') \
             WHERE task_id = '{id}' AND department = 'health'"
        ),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut db)
            .await
            .unwrap();
    }
    let verify = app
        .get("/api/v1/audit-log/verify", &app.auditor())
        .await
        .expect(200)
        .body;
    assert_eq!(verify["ok"], false, "{verify}");
    let reason = verify["first_broken"]["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("result_parts row {id}/{hospital}/health")),
        "{reason}"
    );
}

#[tokio::test]
async fn the_public_item_list_shows_active_items_by_department_and_kind() {
    let app = spawn_app().await;
    register_items(&app).await;
    let r = app
        .send(Method::GET, "/public/v1/inspection-items", None, None, &[])
        .await
        .expect(200)
        .body;
    let groups = r["departments"].as_array().unwrap();
    let mi = groups.iter().find(|g| g["department"] == MI).unwrap();
    assert_eq!(mi["name_zh"], "医疗保障局");
    let count = |g: &Value, kind: &str| {
        g["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["institution_kind"] == kind)
            .map_or(0, |k| k["items"].as_array().unwrap().len())
    };
    assert_eq!(count(mi, "designated_hospital"), 9);
    assert_eq!(count(mi, "retail_pharmacy"), 7);
    let mr = groups.iter().find(|g| g["department"] == MR).unwrap();
    assert_eq!(count(mr, "retail_pharmacy"), 3);
    let first = &mi["kinds"][0]["items"][0];
    assert_eq!(first["code"], "YB-H01");
    assert!(first["legal_basis"].as_str().unwrap().contains("第十五条"));
    // A retired item leaves the published list.
    let list = app
        .get(
            "/api/v1/inspection-items?department=market_regulation&institution_kind=designated_hospital",
            &app.admin(),
        )
        .await
        .expect(200)
        .body;
    let item = &list["items"][0];
    let mut retired = item.clone();
    for k in ["id", "version", "created_at", "updated_at"] {
        retired.as_object_mut().unwrap().remove(k);
    }
    retired["status"] = json!("retired");
    app.put(
        &format!("/api/v1/inspection-items/{}", item["id"].as_str().unwrap()),
        &app.coordinator(MR),
        1,
        retired,
    )
    .await
    .expect(200);
    let r = app
        .send(Method::GET, "/public/v1/inspection-items", None, None, &[])
        .await
        .expect(200)
        .body;
    let mr = r["departments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["department"] == MR)
        .unwrap();
    assert_eq!(count(mr, "designated_hospital"), 0);
}

/// The check form's HTML as `who` gets it.
async fn form(app: &TestApp, id: &str, inst: &str, token: &str) -> Reply {
    app.send(
        Method::GET,
        &format!("/api/v1/tasks/{id}/selections/{inst}/form"),
        Some(token),
        None,
        &[],
    )
    .await
}

#[tokio::test]
async fn the_check_form_has_one_section_per_department_with_its_items_for_the_kind() {
    let app = spawn_app().await;
    let (s, hospital, pharmacy) = joint_task(&app).await;
    let id = s.id.clone();
    let r = form(&app, &id, &hospital, &app.coordinator(HEALTH))
        .await
        .expect(200);
    assert!(r.header("content-type").starts_with("text/html"));
    let html = r.text;
    assert!(html.contains("双随机实地核查表"));
    assert!(
        html.contains(&id) && html.contains("<svg"),
        "task id and QR code"
    );
    assert!(
        html.contains(&format!("/tasks/{id}")),
        "the public task URL"
    );
    assert_eq!(html.matches("<section class=\"department\"").count(), 3);
    // Hospital items only: 9 of medical insurance, 2 of health, 1 of market regulation.
    assert_eq!(html.matches("data-item=\"YB-H").count(), 9);
    assert_eq!(html.matches("data-item=\"WJ-H").count(), 2);
    assert_eq!(html.matches("data-item=\"SJ-").count(), 1);
    assert!(!html.contains("data-item=\"YB-P"));
    assert_eq!(html.matches(">组长<").count(), 1, "one leader");
    assert!(html.contains("被检查单位负责人"));
    let p = form(&app, &id, &pharmacy, &app.auditor())
        .await
        .expect(200)
        .text;
    assert_eq!(p.matches("data-item=\"YB-P").count(), 7);
    assert_eq!(p.matches("data-item=\"SJ-P").count(), 3);
    assert!(!p.contains("data-item=\"YB-H"));
    // Who may print it, and only for a drawn institution.
    form(&app, &id, &hospital, &app.coordinator("ecology"))
        .await
        .expect(403);
    let undrawn = s
        .county
        .hospitals
        .iter()
        .find(|h| !s.institutions().contains(h))
        .unwrap();
    form(&app, &id, undrawn, &app.admin()).await.expect(404);

    // Rendered by headless Chromium at A4: the sections are there, and it fits on a few
    // pages (the 9-item hospital form: at most 3).
    if crate::chromium::available("the check form's rendering") {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("form.html");
        std::fs::write(&file, &html).unwrap();
        // To look at it: SUIJI_FORM_OUT=/tmp/form.html, then open or screenshot that file.
        if let Ok(out) = std::env::var("SUIJI_FORM_OUT") {
            std::fs::write(&out, &html).unwrap();
            std::fs::write(format!("{out}.pharmacy.html"), &p).unwrap();
        }
        let url = format!("file://{}", file.display());
        let dom = crate::chromium::dump_dom(&url, &[], std::time::Duration::from_secs(30));
        assert_eq!(dom.matches("class=\"department\"").count(), 3);
        for name in ["医疗保障局", "卫生健康委员会", "市场监督管理局"] {
            assert!(dom.contains(name), "{name}");
        }
        let pdf = crate::chromium::print_to_pdf(&url, std::time::Duration::from_secs(30));
        let pages = crate::chromium::pdf_pages(&pdf);
        assert!((1..=3).contains(&pages), "{pages} pages");
    }
}
