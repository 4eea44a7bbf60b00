//! Re-check samples (抽查复查, issue 14 part 4; seed 001: the city re-checks at least 10 %
//! of what its counties inspected, with cross-county teams).

use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;

const CITY: &str = "1404";
const COUNTIES: [(&str, u32); 3] = [("140403", 70), ("140404", 70), ("140405", 60)];

fn orgs() -> Value {
    let mut items = vec![
        json!({"code": "mi-1404", "name": "长治市医疗保障局", "level": "city",
        "region_prefix": CITY, "department": MI}),
    ];
    for (c, _) in COUNTIES {
        items.push(
            json!({"code": format!("mi-{c}"), "name": format!("{c}医疗保障局"),
            "level": "county", "region_prefix": c, "parent": "mi-1404", "department": MI}),
        );
    }
    Value::Array(items)
}

/// A /2 task of one organization without a beacon (every department reveals).
fn task(title: &str, org: &str, strata: Value, cross_region: bool) -> Value {
    json!({"title": title, "year": 2026, "round": 1, "lead_department": MI,
        "departments": [{"code": MI, "team_size": 2}], "strata": strata,
        "cross_region": cross_region, "inspection_start": "2026-09-01",
        "inspection_end": "2026-10-31", "items": [],
        "entropy_plan": [{"source": format!("department:{MI}")}],
        "reveal_deadline": "2030-01-01T00:00:00Z", "organization": org})
}

/// Takes a created task through commit, seal, reveal, draw and publication; its view.
async fn drawn_and_published(app: &TestApp, id: &str) -> Value {
    let mi = app.coordinator(MI);
    commit_all(app, id, &[MI]).await;
    app.post(&format!("/api/v1/tasks/{id}/seal"), &mi, json!(null))
        .await
        .expect(200);
    reveal_all(app, id, &[MI], false).await;
    let drawn = app
        .post(&format!("/api/v1/tasks/{id}/draw"), &mi, json!(null))
        .await
        .expect(200)
        .body;
    app.post(&format!("/api/v1/tasks/{id}/publish"), &mi, json!(null))
        .await
        .expect(200);
    drawn
}

fn selected(view: &Value) -> Vec<String> {
    view["selections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["institution"].as_str().unwrap().to_string())
        .collect()
}

async fn enter_results(app: &TestApp, id: &str, results: &[(String, &str)]) {
    for (inst, category) in results {
        let mut body = json!({"category": category, "inspection_date": "2026-10-15"});
        if *category == "corrected" {
            body["findings"] = json!("串换药品，已责令改正");
            body["amounts"] =
                json!({"fund_recovered_fen": 120000, "penalty_fen": 0, "violations": 1});
        }
        app.send(
            Method::PUT,
            &format!("/api/v1/tasks/{id}/results/{inst}"),
            Some(&app.coordinator(MI)),
            Some(&body),
            &[],
        )
        .await
        .expect(201);
    }
    app.post(
        &format!("/api/v1/tasks/{id}/results/publish"),
        &app.coordinator(MI),
        json!(null),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn seed_001_the_city_rechecks_ten_percent_of_200_county_inspections_with_cross_county_teams()
{
    let app = spawn_app().await;
    app.upload(
        "/api/v1/organizations/import",
        &app.admin(),
        "application/json",
        serde_json::to_vec(&orgs()).unwrap(),
    )
    .await
    .expect(200);
    let mut region_of: HashMap<String, String> = HashMap::new();
    let mut n = 0u32;
    for (county, count) in COUNTIES {
        for _ in 0..count {
            n += 1;
            let id = app
                .institution(institution_body(n, "retail_pharmacy", county))
                .await;
            region_of.insert(id, county.to_string());
        }
        for i in 0..4 {
            let id = app
                .inspector(inspector_body(MI, &format!("YB{county}{i}"), county))
                .await;
            region_of.insert(id, county.to_string());
        }
    }
    // Each county inspects all its institutions; one in four has a problem.
    let mut original: HashMap<String, (String, &str)> = HashMap::new();
    let all = json!([{"id": "all", "ratio": {"num": 1, "den": 1}}]);
    for (county, _) in COUNTIES {
        let id = create_task(
            &app,
            task(
                &format!("{county} 2026年双随机检查"),
                &format!("mi-{county}"),
                all.clone(),
                false,
            ),
        )
        .await;
        let view = drawn_and_published(&app, &id).await;
        let results: Vec<(String, &str)> = selected(&view)
            .into_iter()
            .enumerate()
            .map(|(i, inst)| {
                (
                    inst,
                    if i % 4 == 0 {
                        "corrected"
                    } else {
                        "no_problem"
                    },
                )
            })
            .collect();
        enter_results(&app, &id, &results).await;
        for (inst, c) in results {
            original.insert(inst, (id.clone(), c));
        }
    }
    assert_eq!(original.len(), 200);

    // A county cannot re-check; the city can.
    let source = json!({"year": 2026});
    let mut county_recheck = task(
        "复查",
        "mi-140403",
        json!([{"id": "s", "ratio": {"num": 1, "den": 10}}]),
        false,
    );
    county_recheck["mode"] = json!("recheck");
    county_recheck["recheck"] = source.clone();
    app.post("/api/v1/tasks", &app.coordinator(MI), county_recheck)
        .await
        .expect_problem_field(422, "organization");
    let mut no_source = task(
        "复查",
        "mi-1404",
        json!([{"id": "s", "ratio": {"num": 1, "den": 10}}]),
        true,
    );
    no_source["mode"] = json!("recheck");
    app.post("/api/v1/tasks", &app.coordinator(MI), no_source)
        .await
        .expect_problem_field(422, "recheck");
    let mut body = task(
        "长治市2026年抽查复查",
        "mi-1404",
        json!([{"id": "recheck", "ratio": {"num": 1, "den": 10}}]),
        true,
    );
    body["mode"] = json!("recheck");
    body["recheck"] = source;
    let id = create_task(&app, body).await;
    let view = drawn_and_published(&app, &id).await;
    let picked = selected(&view);
    assert_eq!(picked.len(), 20, "ceil(200 × 1/10)");
    // Cross-county teams: nobody re-checks an institution of his own county.
    for s in view["selections"].as_array().unwrap() {
        let inst = s["institution"].as_str().unwrap();
        assert!(original.contains_key(inst), "{inst} was not inspected");
        for t in s["team"].as_array().unwrap() {
            for i in t["inspectors"].as_array().unwrap() {
                assert_ne!(region_of[i.as_str().unwrap()], region_of[inst], "{s}");
            }
        }
    }
    // Before any re-check result: every line pending, linked to its original.
    let report = app
        .get(&format!("/api/v1/tasks/{id}/recheck"), &app.auditor())
        .await
        .expect(200)
        .body;
    assert_eq!(report["pool"], 200);
    assert_eq!(report["drawn"], 20);
    assert_eq!(report["counts"]["pending"], 20);
    for line in report["items"].as_array().unwrap() {
        let inst = line["institution"].as_str().unwrap();
        assert_eq!(line["original_task"], original[inst].0.as_str());
        assert_eq!(line["original_category"], original[inst].1);
    }
    // Re-check results: a problem at every third re-checked institution.
    let results: Vec<(String, &str)> = picked
        .iter()
        .enumerate()
        .map(|(i, inst)| {
            (
                inst.clone(),
                if i % 3 == 0 {
                    "corrected"
                } else {
                    "no_problem"
                },
            )
        })
        .collect();
    enter_results(&app, &id, &results).await;
    let mut want: HashMap<&str, u64> = HashMap::new();
    for (inst, re) in &results {
        let v = match (original[inst].1, *re) {
            ("corrected", "corrected") => "confirmed",
            ("no_problem", "no_problem") => "agreed_clean",
            ("no_problem", _) => "missed",
            _ => "overturned",
        };
        *want.entry(v).or_default() += 1;
    }
    let report = app
        .get(&format!("/api/v1/tasks/{id}/recheck"), &app.coordinator(MI))
        .await
        .expect(200)
        .body;
    for v in ["confirmed", "agreed_clean", "missed", "overturned"] {
        assert_eq!(
            report["counts"][v].as_u64().unwrap(),
            want.get(v).copied().unwrap_or(0),
            "{v}: {report}"
        );
    }
    assert_eq!(report["counts"]["pending"], 0);
    // A county coordinator of another department may not read it; a plain task has none.
    app.get(
        &format!("/api/v1/tasks/{id}/recheck"),
        &app.coordinator(HEALTH),
    )
    .await
    .expect(403);
    let plain = original.values().next().unwrap().0.clone();
    app.get(&format!("/api/v1/tasks/{plain}/recheck"), &app.auditor())
        .await
        .expect(404);
    // Published as 复查.
    let page = app
        .client
        .get(format!("{}/tasks/{id}", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("抽查复查 Re-check"), "{page}");
}
