//! Organizations and jurisdiction (issue 12, points 1–2): a city (鄂尔多斯市, 1506) with
//! three counties (东胜区 150602, 达拉特旗 150621, 乌审旗 150626). County coordinators
//! write and read their county only, the city its counties; a county task draws only its
//! own inspectors; a cross-county task at city level never sends an inspector to his own
//! county; the task view (and the public one) shows which organizations' inspectors the
//! pool took.

use crate::helpers::*;
use serde_json::{Value, json};
use std::collections::HashMap;

const COUNTIES: [&str; 3] = ["150602", "150621", "150626"];

/// The organization tree, children before parents (the import resolves any order).
fn tree() -> Value {
    let mut items = Vec::new();
    for (dept, short, name) in [(MI, "mi", "医疗保障局"), (HEALTH, "he", "卫生健康委员会")]
    {
        for c in COUNTIES {
            items.push(
                json!({"code": format!("{short}-{c}"), "name": format!("{c}{name}"),
                "level": "county", "region_prefix": c, "parent": format!("{short}-1506"),
                "department": dept}),
            );
        }
        items.push(
            json!({"code": format!("{short}-1506"), "name": format!("鄂尔多斯市{name}"),
            "level": "city", "region_prefix": "1506", "department": dept}),
        );
    }
    Value::Array(items)
}

struct City {
    /// Institution id → region.
    institutions: HashMap<String, String>,
    /// Inspector id → region.
    inspectors: HashMap<String, String>,
}

/// The tree, and per county 3 hospitals, 6 pharmacies, 4 medical insurance and 2 health
/// inspectors.
async fn city(app: &TestApp) -> City {
    let r = app
        .upload(
            "/api/v1/organizations/import",
            &app.admin(),
            "application/json",
            serde_json::to_vec(&tree()).unwrap(),
        )
        .await
        .expect(200);
    assert_eq!(r.body["inserted"], 8, "{}", r.text);
    let mut institutions = HashMap::new();
    let mut inspectors = HashMap::new();
    let mut n = 0u32;
    for c in COUNTIES {
        for i in 0..9 {
            let kind = if i < 3 {
                "designated_hospital"
            } else {
                "retail_pharmacy"
            };
            n += 1;
            institutions.insert(
                app.institution(institution_body(n, kind, c)).await,
                c.into(),
            );
        }
        for (dept, prefix, count) in [(MI, "YB", 4), (HEALTH, "WJ", 2)] {
            for i in 0..count {
                let id = app
                    .inspector(inspector_body(dept, &format!("{prefix}{c}{i}"), c))
                    .await;
                inspectors.insert(id, c.to_string());
            }
        }
    }
    City {
        institutions,
        inspectors,
    }
}

fn task(cross_region: bool, organization: Option<&str>) -> Value {
    let mut t = json!({"title": "鄂尔多斯市定点医药机构双随机抽查", "year": 2023, "round": 1,
     "protocol": "suiji-draw/1",
     "lead_department": MI,
     "departments": [{"code": MI, "team_size": 2}, {"code": HEALTH, "team_size": 1}],
     "strata": [{"id": "hospitals", "filter": {"kind": ["designated_hospital"]},
                 "ratio": {"num": 1, "den": 3}, "min": 1},
                {"id": "pharmacies", "filter": {"kind": ["retail_pharmacy"]},
                 "ratio": {"num": 1, "den": 3}, "min": 1}],
     "cross_region": cross_region,
     "inspection_start": "2023-08-01", "inspection_end": "2023-08-31",
     "entropy_plan": [{"source": "department:medical_insurance"}, {"source": "department:health"},
                      {"source": "beacon:drand-quicknet", "note": "round 3500000"}]});
    if let Some(o) = organization {
        t["organization"] = json!(o);
    }
    t
}

/// Commits, seals, reveals and draws a task as `lead` (health acts through its default
/// organization's token); answers the drawn task's view.
async fn draw(app: &TestApp, id: &str, lead: &str) -> Value {
    for d in [MI, HEALTH] {
        app.post(
            &format!("/api/v1/tasks/{id}/commitments"),
            &app.coordinator(d),
            json!({"source": format!("department:{d}"), "commitment": commitment(d)}),
        )
        .await
        .expect(201);
    }
    app.post(&format!("/api/v1/tasks/{id}/seal"), lead, json!(null))
        .await
        .expect(200);
    for d in [MI, HEALTH] {
        app.post(
            &format!("/api/v1/tasks/{id}/reveals"),
            &app.coordinator(d),
            json!({"source": format!("department:{d}"), "value": secret(d)}),
        )
        .await
        .expect(201);
    }
    app.post(
        &format!("/api/v1/tasks/{id}/reveals"),
        lead,
        json!({"source": "beacon:drand-quicknet", "value": BEACON}),
    )
    .await
    .expect(201);
    app.post(&format!("/api/v1/tasks/{id}/draw"), lead, json!(null))
        .await
        .expect(200)
        .body
}

async fn count(app: &TestApp, path: &str) -> usize {
    app.get(path, &app.admin()).await.expect(200).body["items"]
        .as_array()
        .unwrap()
        .len()
}

fn regions(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["region"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn coordinators_write_their_region_only_and_read_down_the_hierarchy() {
    let app = spawn_app().await;
    let c = city(&app).await;
    let wushen = app.coordinator_in(MI, "mi-150626");
    let ordos = app.coordinator_in(MI, "mi-1506");
    let institutions = "/api/v1/institutions?limit=500";
    let before = count(&app, institutions).await;

    // A county coordinator cannot register an institution of another county …
    let r = app
        .post(
            "/api/v1/institutions",
            &wushen,
            institution_body(900, "retail_pharmacy", "150602"),
        )
        .await
        .expect(403);
    assert!(
        r.text.contains("mi-150626") && r.text.contains("150602"),
        "{}",
        r.text
    );
    // … nor change one, nor move its own out of its county.
    let (dongsheng, _) = c
        .institutions
        .iter()
        .find(|(_, r)| r.as_str() == "150602")
        .unwrap();
    let current = app
        .get(&format!("/api/v1/institutions/{dongsheng}"), &app.admin())
        .await
        .expect(200)
        .body;
    let mut changed = current.clone();
    for k in ["id", "version", "created_at", "updated_at"] {
        changed.as_object_mut().unwrap().remove(k);
    }
    changed["name"] = json!("改名");
    app.put(
        &format!("/api/v1/institutions/{dongsheng}"),
        &wushen,
        1,
        changed.clone(),
    )
    .await
    .expect(403);
    let own = app
        .post(
            "/api/v1/institutions",
            &wushen,
            institution_body(901, "retail_pharmacy", "150626"),
        )
        .await
        .expect(201)
        .body;
    let mut moved = own.clone();
    for k in ["id", "version", "created_at", "updated_at"] {
        moved.as_object_mut().unwrap().remove(k);
    }
    moved["region"] = json!("150621");
    app.put(
        &format!("/api/v1/institutions/{}", own["id"].as_str().unwrap()),
        &wushen,
        1,
        moved,
    )
    .await
    .expect(403);
    // The city writes in each of its counties, not beyond.
    app.put(
        &format!("/api/v1/institutions/{dongsheng}"),
        &ordos,
        1,
        changed,
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/institutions",
        &ordos,
        institution_body(902, "retail_pharmacy", "150621"),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/institutions",
        &ordos,
        institution_body(903, "retail_pharmacy", "150102"),
    )
    .await
    .expect(403);
    assert_eq!(count(&app, institutions).await, before + 2);

    // Inspectors: region and department.
    app.post(
        "/api/v1/inspectors",
        &wushen,
        inspector_body(MI, "YB-X1", "150602"),
    )
    .await
    .expect(403);
    app.post(
        "/api/v1/inspectors",
        &wushen,
        inspector_body(HEALTH, "WJ-X1", "150626"),
    )
    .await
    .expect(403);
    app.post(
        "/api/v1/inspectors",
        &wushen,
        inspector_body(MI, "YB-X2", "150626"),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/inspectors",
        &ordos,
        inspector_body(MI, "YB-X3", "150621"),
    )
    .await
    .expect(201);

    // Bulk import: every row is checked; one row outside the county refuses the file.
    let csv = format!(
        "credit_code,name,kind,level,ownership,region,risk_grade\n{},甲药店,retail_pharmacy,none,private,150626,B\n{},乙药店,retail_pharmacy,none,private,150621,B\n",
        credit_code("91150600000000950"),
        credit_code("91150600000000951")
    );
    let before = count(&app, institutions).await;
    let r = app
        .upload(
            "/api/v1/institutions/import",
            &wushen,
            "text/csv",
            csv.clone().into_bytes(),
        )
        .await
        .expect(403);
    assert!(r.text.contains("row 3"), "{}", r.text);
    assert_eq!(count(&app, institutions).await, before, "nothing written");
    app.upload(
        "/api/v1/institutions/import",
        &ordos,
        "text/csv",
        csv.into_bytes(),
    )
    .await
    .expect(200);
    let inspectors_csv =
        "department,name,certificate_no,region\nmedical_insurance,张三,YB-Y1,150602\n";
    app.upload(
        "/api/v1/inspectors/import",
        &wushen,
        "text/csv",
        inspectors_csv.as_bytes().to_vec(),
    )
    .await
    .expect(403);

    // Reads follow the hierarchy: the county sees itself, the city its counties, the
    // admin and the auditor everything.
    app.post(
        "/api/v1/institutions",
        &app.admin(),
        institution_body(904, "retail_pharmacy", "150102"),
    )
    .await
    .expect(201);
    let county_view = app.get(institutions, &wushen).await.expect(200).body;
    assert!(!regions(&county_view).is_empty());
    assert!(regions(&county_view).iter().all(|r| r == "150626"));
    let city_view = app.get(institutions, &ordos).await.expect(200).body;
    let city_regions = regions(&city_view);
    assert!(city_regions.iter().all(|r| r.starts_with("1506")));
    for c in COUNTIES {
        assert!(city_regions.iter().any(|r| r == c), "{c}");
    }
    for token in [app.admin(), app.auditor()] {
        let all = app.get(institutions, &token).await.expect(200).body;
        assert!(regions(&all).iter().any(|r| r == "150102"));
    }
    // Asking for another county gives nothing; asking for the province gives the county.
    let other = app
        .get("/api/v1/institutions?region_prefix=150602", &wushen)
        .await
        .expect(200)
        .body;
    assert!(regions(&other).is_empty());
    let wide = app
        .get("/api/v1/institutions?region_prefix=15&limit=500", &wushen)
        .await
        .expect(200)
        .body;
    assert_eq!(regions(&wide), regions(&county_view));
    app.get(&format!("/api/v1/institutions/{dongsheng}"), &wushen)
        .await
        .expect(403);
    app.get(&format!("/api/v1/institutions/{dongsheng}"), &ordos)
        .await
        .expect(200);
    let inspectors = app
        .get("/api/v1/inspectors?limit=500", &wushen)
        .await
        .expect(200)
        .body;
    assert!(regions(&inspectors).iter().all(|r| r == "150626"));
    // Institutions are shared by the departments: a county health coordinator reads them.
    let health = app.coordinator_in(HEALTH, "he-150626");
    let shared = app.get(institutions, &health).await.expect(200).body;
    assert_eq!(regions(&shared), regions(&county_view));
    // Exports follow the same rule.
    let (_, csv) = app.download("/api/v1/institutions/export", &wushen).await;
    let text = String::from_utf8(csv).unwrap();
    assert!(
        !text.contains(",150602,") && text.contains(",150626,"),
        "{text}"
    );

    // A token's organization must exist and belong to its department.
    app.get(institutions, &app.coordinator_in(HEALTH, "mi-150626"))
        .await
        .expect(403);
    app.get(institutions, &app.coordinator_in(MI, "mi-999999"))
        .await
        .expect(403);
    // Without `org`, a coordinator acts for its department's default organization.
    let everywhere = app
        .get(institutions, &app.coordinator(MI))
        .await
        .expect(200)
        .body;
    assert!(regions(&everywhere).iter().any(|r| r == "150102"));
    let _ = c.inspectors;
}

#[tokio::test]
async fn pools_follow_jurisdiction() {
    let app = spawn_app().await;
    let c = city(&app).await;
    let wushen = app.coordinator_in(MI, "mi-150626");
    let ordos = app.coordinator_in(MI, "mi-1506");

    // A county task: its organization is the caller's.
    let created = app
        .post("/api/v1/tasks", &wushen, task(false, None))
        .await
        .expect(201)
        .body;
    assert_eq!(created["organization"], "mi-150626");
    let id = created["id"].as_str().unwrap().to_string();
    // Another county cannot run it; the city can read and lead it.
    app.post(
        &format!("/api/v1/tasks/{id}/seal"),
        &app.coordinator_in(MI, "mi-150621"),
        json!(null),
    )
    .await
    .expect(403);
    let drawn = draw(&app, &id, &wushen).await;
    let selections = drawn["selections"].as_array().unwrap();
    assert!(!selections.is_empty());
    for s in selections {
        let inst = s["institution"].as_str().unwrap();
        assert_eq!(
            c.institutions[inst], "150626",
            "a county task draws its county"
        );
        for t in s["team"].as_array().unwrap() {
            for i in t["inspectors"].as_array().unwrap() {
                assert_eq!(
                    c.inspectors[i.as_str().unwrap()],
                    "150626",
                    "a county task draws only its own inspectors"
                );
            }
        }
    }
    let view = app
        .get(&format!("/api/v1/tasks/{id}"), &ordos)
        .await
        .expect(200)
        .body;
    assert_eq!(
        view["pools"],
        json!([
            {"department": HEALTH, "organization": "he-150626", "inspectors": 2},
            {"department": MI, "organization": "mi-150626", "inspectors": 4},
        ])
    );

    // A county coordinator cannot create a task for another county or for the city.
    app.post("/api/v1/tasks", &wushen, task(false, Some("mi-150621")))
        .await
        .expect(403);
    app.post("/api/v1/tasks", &wushen, task(false, Some("he-1506")))
        .await
        .expect_problem_field(422, "organization");

    // A cross-county task at city level (交叉检查).
    let created = app
        .post("/api/v1/tasks", &ordos, task(true, None))
        .await
        .expect(201)
        .body;
    assert_eq!(created["organization"], "mi-1506");
    let id = created["id"].as_str().unwrap().to_string();
    let drawn = draw(&app, &id, &ordos).await;
    let selections = drawn["selections"].as_array().unwrap();
    assert!(selections.len() >= 6, "{}", selections.len());
    let mut counties_drawn = std::collections::BTreeSet::new();
    for s in selections {
        let inst_region = &c.institutions[s["institution"].as_str().unwrap()];
        counties_drawn.insert(inst_region.clone());
        for t in s["team"].as_array().unwrap() {
            for i in t["inspectors"].as_array().unwrap() {
                let own = &c.inspectors[i.as_str().unwrap()];
                assert_ne!(
                    own, inst_region,
                    "an inspector never inspects an institution of his own county"
                );
            }
        }
    }
    assert!(counties_drawn.len() >= 2, "{counties_drawn:?}");
    let view = app
        .get(&format!("/api/v1/tasks/{id}"), &ordos)
        .await
        .expect(200)
        .body;
    let mut expected = Vec::new();
    for (dept, short, n) in [(HEALTH, "he", 2), (MI, "mi", 4)] {
        for county in COUNTIES {
            expected.push(json!({"department": dept, "organization": format!("{short}-{county}"), "inspectors": n}));
        }
    }
    assert_eq!(view["pools"], Value::Array(expected.clone()));
    // The county cannot publish the city's task; the city does, and the public sees the pools.
    app.post(&format!("/api/v1/tasks/{id}/publish"), &wushen, json!(null))
        .await
        .expect(403);
    app.post(&format!("/api/v1/tasks/{id}/publish"), &ordos, json!(null))
        .await
        .expect(200);
    let public = app
        .client
        .get(format!("{}/public/v1/tasks/{id}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 200);
    let public: Value = public.json().await.unwrap();
    assert_eq!(public["pools"], Value::Array(expected));
}

#[tokio::test]
async fn a_cross_county_task_of_a_county_takes_the_other_counties_inspectors() {
    let app = spawn_app().await;
    let c = city(&app).await;
    let wushen = app.coordinator_in(MI, "mi-150626");
    let ordos = app.coordinator_in(MI, "mi-1506");
    let mut body = task(true, None);
    // A county has 3 hospitals and 6 pharmacies: draw them all, so every team is checked.
    body["strata"][0]["ratio"] = json!({"num": 1, "den": 1});
    body["strata"][1]["ratio"] = json!({"num": 1, "den": 3});
    body["max_assignments_per_inspector"] = json!(3);
    // Assigned by the level above (条例 art. 26): the county cannot create it, the city
    // does, for the county; the county runs it.
    app.post("/api/v1/tasks", &wushen, body.clone())
        .await
        .expect(403);
    body["organization"] = json!("mi-150626");
    let created = app
        .post("/api/v1/tasks", &ordos, body)
        .await
        .expect(201)
        .body;
    assert_eq!(created["organization"], "mi-150626");
    let id = created["id"].as_str().unwrap().to_string();
    let drawn = draw(&app, &id, &wushen).await;
    for s in drawn["selections"].as_array().unwrap() {
        assert_eq!(c.institutions[s["institution"].as_str().unwrap()], "150626");
        for t in s["team"].as_array().unwrap() {
            for i in t["inspectors"].as_array().unwrap() {
                let own = &c.inspectors[i.as_str().unwrap()];
                assert!(own.starts_with("1506") && own != "150626", "{own}");
            }
        }
    }
    let view = app
        .get(&format!("/api/v1/tasks/{id}"), &wushen)
        .await
        .expect(200)
        .body;
    let orgs: Vec<&str> = view["pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["organization"].as_str().unwrap())
        .collect();
    assert_eq!(orgs, ["he-150602", "he-150621", "mi-150602", "mi-150621"]);
}

#[tokio::test]
async fn organizations_are_validated_versioned_and_imported_all_or_nothing() {
    let app = spawn_app().await;
    let admin = app.admin();
    // Every department has its default organization (the migration path).
    let list = app
        .get("/api/v1/organizations", &app.auditor())
        .await
        .expect(200)
        .body;
    let codes: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["health", "market_regulation", "medical_insurance"]);
    assert_eq!(list["items"][2]["level"], "national");
    assert_eq!(list["items"][2]["region_prefix"], "");

    let city = json!({"code": "mi-1506", "name": "鄂尔多斯市医疗保障局", "level": "city",
                      "region_prefix": "1506", "department": MI});
    app.post("/api/v1/organizations", &app.coordinator(MI), city.clone())
        .await
        .expect(403);
    let mut bad = city.clone();
    bad["region_prefix"] = json!("150626");
    app.post("/api/v1/organizations", &admin, bad)
        .await
        .expect_problem_field(422, "region_prefix");
    let mut bad = city.clone();
    bad["code"] = json!("MI 1506");
    app.post("/api/v1/organizations", &admin, bad)
        .await
        .expect_problem_field(422, "code");
    // A department's code is its default organization's.
    let mut bad = city.clone();
    bad["code"] = json!("health");
    app.post("/api/v1/organizations", &admin, bad)
        .await
        .expect(409);
    let r = app
        .post("/api/v1/organizations", &admin, city.clone())
        .await
        .expect(201);
    assert_eq!(r.header("location"), "/api/v1/organizations/mi-1506");
    app.post("/api/v1/organizations", &admin, city.clone())
        .await
        .expect(409);
    let county = json!({"code": "mi-150626", "name": "乌审旗医疗保障局", "level": "county",
                        "region_prefix": "150626", "parent": "mi-1506", "department": MI});
    for (field, value, named) in [
        ("region_prefix", json!("150102"), "region_prefix"),
        ("department", json!(HEALTH), "parent"),
        ("parent", json!("medical_insurance"), "parent"),
        ("parent", json!("mi-9999"), "parent"),
    ] {
        let mut bad = county.clone();
        bad[field] = value;
        app.post("/api/v1/organizations", &admin, bad)
            .await
            .expect_problem_field(422, named);
    }
    app.post("/api/v1/organizations", &admin, county.clone())
        .await
        .expect(201);

    // Updates: If-Match, the children must still fit, history and audit kept.
    let audit = app.audit_len().await;
    let mut renamed = city.clone();
    renamed["name"] = json!("鄂尔多斯市医疗保障局（新）");
    app.put("/api/v1/organizations/mi-1506", &admin, 7, renamed.clone())
        .await
        .expect(412);
    app.put("/api/v1/organizations/mi-1506", &admin, 1, renamed.clone())
        .await
        .expect(200);
    let mut moved = renamed.clone();
    moved["region_prefix"] = json!("1501");
    moved["name"] = json!("x");
    app.put("/api/v1/organizations/mi-1506", &admin, 2, moved)
        .await
        .expect_problem_field(422, "children.mi-150626");
    let mut recoded = renamed.clone();
    recoded["code"] = json!("mi-1507");
    app.put("/api/v1/organizations/mi-1506", &admin, 2, recoded)
        .await
        .expect_problem_field(422, "code");
    app.put(
        "/api/v1/organizations/medical_insurance",
        &admin,
        1,
        json!({"code": "medical_insurance", "name": "x", "level": "province",
               "region_prefix": "15", "department": MI}),
    )
    .await
    .expect(409);
    assert_eq!(app.audit_len().await, audit + 1);
    let history = app
        .get("/api/v1/organizations/mi-1506/history", &app.auditor())
        .await
        .expect(200)
        .body;
    assert_eq!(history["items"].as_array().unwrap().len(), 2);

    // Import: CSV, any order, all or nothing with numbered rows.
    let bad_csv = "code,name,level,region_prefix,parent,department\n\
        mi-150602,东胜区医疗保障局,county,150602,mi-1506,medical_insurance\n\
        mi-150621,达拉特旗医疗保障局,市,150621,mi-1506,医疗保障局\n\
        mi-150627,伊金霍洛旗医疗保障局,county,150627,mi-1599,medical_insurance\n";
    let before = app
        .get("/api/v1/organizations", &admin)
        .await
        .expect(200)
        .body["items"]
        .as_array()
        .unwrap()
        .len();
    let r = app
        .upload(
            "/api/v1/organizations/import",
            &admin,
            "text/csv",
            bad_csv.as_bytes().to_vec(),
        )
        .await
        .expect(422);
    let rows: Vec<u64> = r.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, [3, 4], "{}", r.text);
    let csv = "机构代码,机构名称,级别,区划代码,上级机构,所属部门\n\
        he-150626,乌审旗卫生健康委员会,县,150626,he-1506,卫生健康委员会\n\
        he-1506,鄂尔多斯市卫生健康委员会,市,1506,,health\n\
        mi-150626,乌审旗医疗保障局,county,150626,mi-1506,medical_insurance\n";
    let r = app
        .upload(
            "/api/v1/organizations/import",
            &admin,
            "text/csv",
            csv.as_bytes().to_vec(),
        )
        .await
        .expect(200);
    assert_eq!(
        (&r.body["inserted"], &r.body["unchanged"]),
        (&json!(2), &json!(1))
    );
    let after = app
        .get("/api/v1/organizations", &admin)
        .await
        .expect(200)
        .body["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(after, before + 2);
    let he = app
        .get("/api/v1/organizations/he-150626", &app.coordinator(HEALTH))
        .await
        .expect(200)
        .body;
    assert_eq!(he["parent"], "he-1506");
    app.upload(
        "/api/v1/organizations/import",
        &app.coordinator(MI),
        "application/json",
        b"[]".to_vec(),
    )
    .await
    .expect(403);
}
