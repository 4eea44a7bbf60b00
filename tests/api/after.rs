//! Issue 15: after the inspection — the result vocabulary, rectification, referrals and
//! major cases, the monthly statistics and their submission.

use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

async fn put_result(app: &TestApp, id: &str, inst: &str, body: &Value) -> Reply {
    app.send(
        Method::PUT,
        &format!("/api/v1/tasks/{id}/results/{inst}"),
        Some(&app.coordinator(MI)),
        Some(body),
        &[],
    )
    .await
}

#[tokio::test]
async fn results_carry_the_vocabulary_and_old_results_stay_valid() {
    let app = spawn_app().await;
    let s = Scenario::seed003(&app).await.published().await;
    let insts = s.institutions();
    let vocab = app
        .get("/api/v1/vocabulary/results", &app.auditor())
        .await
        .expect(200)
        .body;
    let codes: Vec<&str> = vocab["violation_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["code"].as_str().unwrap())
        .collect();
    for c in [
        "impersonated_visit",
        "phantom_inpatient",
        "card_misuse",
        "false_bookkeeping",
    ] {
        assert!(codes.contains(&c), "{c} missing from {codes:?}");
    }
    let columns: Vec<i64> = vocab["handling_forms"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["column"].as_i64())
        .collect();
    assert_eq!(columns.iter().min(), Some(&5));
    assert_eq!(columns.iter().max(), Some(&12));
    assert_eq!(vocab["inspection_methods"].as_array().unwrap().len(), 3);

    // Bad input: 422 naming the field, nothing written.
    let audit = app.audit_len().await;
    let mismatch = json!({"category": "follow_up_pending", "inspection_date": "2023-08-15",
        "follow_up": ["referred_to_police"],
        "amounts": {"fund_recovered_fen": 100_000, "fund_principal_fen": 80_000,
                    "liquidated_damages_fen": 10_000, "penalty_fen": 0, "violations": 0},
        "handling": ["recovery", "liquidated_damages", "referred_police"]});
    put_result(&app, &s.id, &insts[0], &mismatch)
        .await
        .expect_problem_field(422, "amounts.fund_recovered_fen");
    let twice = json!({"category": "corrected", "inspection_date": "2023-08-15",
        "handling": ["interview", "interview"]});
    put_result(&app, &s.id, &insts[0], &twice)
        .await
        .expect_problem_field(422, "handling[1]");
    let unknown = json!({"category": "corrected", "inspection_date": "2023-08-15",
        "handling": ["hanging"]});
    let r = put_result(&app, &s.id, &insts[0], &unknown).await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.text);
    let missing_penalty_form = json!({"category": "corrected", "inspection_date": "2023-08-15",
        "amounts": {"penalty_fen": 500_000}, "handling": ["interview"]});
    put_result(&app, &s.id, &insts[0], &missing_penalty_form)
        .await
        .expect_problem_field(422, "handling");
    let bad_cases = json!({"category": "corrected", "inspection_date": "2023-08-15",
        "amounts": {"violations": 5},
        "violation_types": [{"violation": "phantom_inpatient", "cases": 3, "amount_fen": 1}]});
    put_result(&app, &s.id, &insts[0], &bad_cases)
        .await
        .expect_problem_field(422, "amounts.violations");
    assert_eq!(app.audit_len().await, audit, "rejected input wrote nothing");

    // A full result: several handling forms, violations by type, principal and damages.
    let full = json!({"category": "follow_up_pending", "inspection_date": "2023-08-15",
        "findings": "挂床住院12例，冒名就诊3例",
        "follow_up": ["referred_to_police"],
        "amounts": {"fund_recovered_fen": 110_000, "fund_principal_fen": 100_000,
                    "liquidated_damages_fen": 10_000, "penalty_fen": 200_000, "violations": 15},
        "violation_types": [
            {"violation": "phantom_inpatient", "cases": 12, "amount_fen": 90_000},
            {"violation": "impersonated_visit", "cases": 3, "amount_fen": 10_000}],
        "handling": ["interview", "rectification", "recovery", "liquidated_damages",
                     "administrative_penalty", "referred_police", "supervised"],
        "method": "tip"});
    put_result(&app, &s.id, &insts[0], &full).await.expect(201);
    // An old-style result, without any of the new fields, is still accepted.
    let old = json!({"category": "corrected", "inspection_date": "2023-08-15",
        "amounts": {"fund_recovered_fen": 5_000, "penalty_fen": 0, "violations": 1}});
    put_result(&app, &s.id, &insts[1], &old).await.expect(201);
    for inst in &insts[2..] {
        put_result(
            &app,
            &s.id,
            inst,
            &json!({"category": "no_problem", "inspection_date": "2023-08-15"}),
        )
        .await
        .expect(201);
    }
    app.post(
        &format!("/api/v1/tasks/{}/results/publish", s.id),
        &app.coordinator(MI),
        json!(null),
    )
    .await
    .expect(200);
    // Amounts and handling forms are public (一公开).
    let public = app
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
    let sel = public["selections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| {
            x["institution"]["id"] == insts[0].as_str() || x["institution"] == insts[0].as_str()
        })
        .unwrap_or_else(|| panic!("{public}"))
        .clone();
    // The current version is flattened into the public result.
    let cur = &sel["result"];
    assert_eq!(cur["handling"].as_array().unwrap().len(), 7, "{cur}");
    assert_eq!(cur["amounts"]["fund_principal_fen"], 100_000);
    assert_eq!(cur["amounts"]["liquidated_damages_fen"], 10_000);
    assert_eq!(cur["violation_types"][0]["violation"], "phantom_inpatient");
    assert_eq!(cur["method"], "tip");
    let old_public = public["selections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| {
            x["institution"]["id"] == insts[1].as_str() || x["institution"] == insts[1].as_str()
        })
        .unwrap()
        .clone();
    let old_cur = &old_public["result"];
    assert!(old_cur.get("handling").is_none(), "{old_cur}");
    // The portal shows the handling forms.
    let page = app
        .send(Method::GET, &format!("/tasks/{}", s.id), None, None, &[])
        .await
        .expect(200)
        .text;
    assert!(page.contains("处理方式"), "portal lacks the handling forms");
    assert!(page.contains("挂牌督办"));
    assert!(page.contains("挂床住院 12 例"));
}

/// The seed 003 task published, a `corrected` result for the first drawn institution and
/// `no_problem` for the others, recorded (not published).
async fn with_a_finding(app: &TestApp, finding: Value) -> (String, Vec<String>) {
    let s = Scenario::seed003(app).await.published().await;
    let insts = s.institutions();
    put_result(app, &s.id, &insts[0], &finding)
        .await
        .expect(201);
    (s.id.clone(), insts)
}

fn corrected() -> Value {
    json!({"category": "corrected", "inspection_date": "2023-08-15", "findings": "挂床住院2例",
           "amounts": {"fund_recovered_fen": 80_000, "penalty_fen": 0, "violations": 2},
           "handling": ["rectification", "recovery"]})
}

#[tokio::test]
async fn a_rectification_goes_overdue_on_the_calendar_across_a_holiday() {
    // Ordered on Friday 2025-09-26, due in 5 working days: Sunday 09-28 (调休上班),
    // 09-29, 09-30, then the National Day holiday (10-01 … 10-08), 10-09 and 10-10.
    let (app, clock) = spawn_app_at("2025-09-26T02:00:00Z").await;
    let (id, insts) = with_a_finding(&app, corrected()).await;
    let mi = app.coordinator(MI);
    let path = format!("/api/v1/tasks/{id}/results/{}/rectifications", insts[0]);
    // Bad input: 422 naming the field, nothing written.
    let audit = app.audit_len().await;
    app.post(&path, &mi, json!({"requirements": "整改挂床住院问题"}))
        .await
        .expect_problem_field(422, "due_date");
    app.post(
        &path,
        &mi,
        json!({"requirements": "x", "due_date": "2025-10-10", "due_working_days": 5}),
    )
    .await
    .expect_problem_field(422, "due_date");
    app.post(
        &path,
        &mi,
        json!({"requirements": "", "due_working_days": 5}),
    )
    .await
    .expect_problem_field(422, "requirements");
    // Another department's coordinator may not order it.
    app.post(
        &path,
        &app.coordinator(HEALTH),
        json!({"requirements": "x", "due_working_days": 5}),
    )
    .await
    .expect(403);
    assert_eq!(app.audit_len().await, audit);
    // Nothing to rectify where nothing was found.
    put_result(
        &app,
        &id,
        &insts[1],
        &json!({"category": "no_problem", "inspection_date": "2023-08-15"}),
    )
    .await
    .expect(201);
    app.post(
        &format!("/api/v1/tasks/{id}/results/{}/rectifications", insts[1]),
        &mi,
        json!({"requirements": "x", "due_working_days": 5}),
    )
    .await
    .expect(409);
    let audit = app.audit_len().await;

    let r = app
        .post(
            &path,
            &mi,
            json!({"requirements": "整改挂床住院问题", "due_working_days": 5}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(r["ordered_on"], "2025-09-26");
    assert_eq!(r["due_date"], "2025-10-10", "{r}");
    assert_eq!(r["current_state"], "ordered");
    let rid = r["id"].as_str().unwrap().to_string();
    assert_eq!(app.audit_len().await, audit + 1);

    // A plan whose timetable runs past the due date is refused.
    app.post(
        &format!("/api/v1/rectifications/{rid}/plan"),
        &mi,
        json!({"responsible": "院长", "submitted_on": "2025-09-29",
               "measures": [{"measure": "清理在院病人", "by": "2025-10-20"}]}),
    )
    .await
    .expect_problem_field(422, "measures[0].by");
    let p = app
        .post(
            &format!("/api/v1/rectifications/{rid}/plan"),
            &mi,
            json!({"goal": "杜绝挂床住院", "responsible": "院长", "submitted_on": "2025-09-29",
                   "measures": [{"measure": "清理在院病人", "by": "2025-09-30"},
                                {"measure": "建立查房制度", "by": "2025-10-10"}]}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(p["current_state"], "plan_submitted");
    assert_eq!(p["plan"]["measures"].as_array().unwrap().len(), 2);

    // Twelve calendar days later, mid-holiday: not overdue (due in working days).
    clock.set(instant("2025-10-08T04:00:00Z"));
    let g = app
        .get(&format!("/api/v1/rectifications/{rid}"), &mi)
        .await
        .expect(200)
        .body;
    assert_eq!(g["current_state"], "plan_submitted");
    clock.set(instant("2025-10-10T15:00:00Z")); // 23:00 in China, still the due day
    let g = app
        .get(&format!("/api/v1/rectifications/{rid}"), &mi)
        .await
        .expect(200)
        .body;
    assert_eq!(g["current_state"], "plan_submitted");
    clock.set(instant("2025-10-10T16:30:00Z")); // 00:30 on 10-11 in China
    let g = app
        .get(&format!("/api/v1/rectifications/{rid}"), &mi)
        .await
        .expect(200)
        .body;
    assert_eq!(g["current_state"], "overdue", "{g}");
    // In the overdue report, one working day late (Saturday 10-11 is 调休上班).
    let o = app
        .get("/api/v1/reports/overdue?as_of=2025-10-11", &app.auditor())
        .await
        .expect(200)
        .body;
    let late = o["rectifications"].as_array().unwrap();
    assert_eq!(late.len(), 1, "{o}");
    assert_eq!(late[0]["rectification_id"], rid.as_str());
    assert_eq!(late[0]["working_days_late"], 1);
    let o = app
        .get("/api/v1/reports/overdue?as_of=2025-10-10", &app.auditor())
        .await
        .expect(200)
        .body;
    assert!(o.get("rectifications").is_none(), "{o}");

    // Completed late: no longer overdue; verification still due.
    let c = app
        .post(
            &format!("/api/v1/rectifications/{rid}/complete"),
            &mi,
            json!({"report": "已清理并建立制度", "completed_on": "2025-10-13"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(c["current_state"], "completed");
    // Verification by a task that did not draw exactly this institution is refused.
    app.post(
        &format!("/api/v1/rectifications/{rid}/verify"),
        &mi,
        json!({"task_id": id, "passed": true, "verified_on": "2025-10-20"}),
    )
    .await
    .expect_problem_field(422, "task_id");
    let list = app
        .get(
            &format!(
                "/api/v1/rectifications?task_id={id}&institution_id={}",
                insts[0]
            ),
            &app.auditor(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // The plan step is over once completed.
    app.post(
        &format!("/api/v1/rectifications/{rid}/plan"),
        &mi,
        json!({"responsible": "院长", "submitted_on": "2025-09-29",
               "measures": [{"measure": "m", "by": "2025-09-30"}]}),
    )
    .await
    .expect(409);
}

#[tokio::test]
async fn a_major_case_is_listed_until_reported() {
    let (app, _clock) = spawn_app_at("2025-11-03T02:00:00Z").await;
    // 600,000 yuan involved: major by amount.
    let big = json!({"category": "follow_up_pending", "inspection_date": "2023-08-15",
        "follow_up": ["case_opened"],
        "amounts": {"fund_recovered_fen": 60_000_000, "penalty_fen": 0, "violations": 40},
        "violation_types": [{"violation": "fictitious_admission", "cases": 40, "amount_fen": 60_000_000}]});
    let (id, insts) = with_a_finding(&app, big).await;
    let mi = app.coordinator(MI);
    // A small case referred to the police: major too.
    put_result(&app, &id, &insts[1], &corrected())
        .await
        .expect(201);
    let referral = app
        .post(
            &format!("/api/v1/tasks/{id}/results/{}/referrals", insts[1]),
            &mi,
            json!({"recipient": "police", "recipient_name": "某县公安局",
                   "referred_on": "2025-11-03", "note": "涉嫌诈骗"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(referral["status"], "referred");
    let rid = referral["id"].as_str().unwrap();
    // Bad referral input.
    app.post(
        &format!("/api/v1/tasks/{id}/results/{}/referrals", insts[1]),
        &mi,
        json!({"recipient": "police", "recipient_name": "", "referred_on": "2025-11-03"}),
    )
    .await
    .expect_problem_field(422, "recipient_name");
    // A third, small and not referred: not major.
    put_result(&app, &id, &insts[2], &corrected())
        .await
        .expect(201);

    let list = app
        .get(
            "/api/v1/reports/major-cases?as_of=2025-11-06",
            &app.auditor(),
        )
        .await
        .expect(200)
        .body;
    let cases = list["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2, "{list}");
    let police = cases
        .iter()
        .find(|c| c["institution_id"] == insts[1].as_str())
        .unwrap();
    assert_eq!(police["triggers"], json!(["police_referral"]));
    // 三日内: calendar days from the referral.
    assert_eq!(police["report_due"], "2025-11-06");
    assert_eq!(police["overdue"], false);
    let amount = cases
        .iter()
        .find(|c| c["institution_id"] == insts[0].as_str())
        .unwrap();
    assert_eq!(amount["triggers"], json!(["amount"]));
    assert_eq!(amount["amount_involved_fen"], 60_000_000);
    // The amount case counts from the result's first recording (案件办结).
    let recorded = app
        .get(&format!("/api/v1/tasks/{id}/results"), &app.auditor())
        .await
        .expect(200)
        .body;
    let first = recorded["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["institution"] == insts[0].as_str())
        .map(|r| {
            r["versions"][0]["recorded_at"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .unwrap_or_else(|| panic!("{recorded}"));
    let since = (instant(&first) + chrono::Duration::hours(8))
        .date_naive()
        .to_string();
    assert_eq!(amount["since"], since.as_str());
    let later = app
        .get(
            "/api/v1/reports/major-cases?as_of=2025-11-07",
            &app.auditor(),
        )
        .await
        .expect(200)
        .body;
    let police_later = later["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["institution_id"] == insts[1].as_str())
        .unwrap();
    assert_eq!(police_later["overdue"], true, "{later}");

    // Reporting one takes it off the list; it cannot be reported twice.
    let report = format!("/api/v1/tasks/{id}/results/{}/major-case-report", insts[1]);
    app.post(
        &report,
        &mi,
        json!({"reported_on": "2025-11-04", "summary": ""}),
    )
    .await
    .expect_problem_field(422, "summary");
    app.post(
        &report,
        &mi,
        json!({"reported_on": "2025-11-04", "summary": "发现过程、违法违规事实、处理结果、处理依据"}),
    )
    .await
    .expect(201);
    app.post(
        &report,
        &mi,
        json!({"reported_on": "2025-11-04", "summary": "again"}),
    )
    .await
    .expect(409);
    app.post(
        &format!("/api/v1/tasks/{id}/results/{}/major-case-report", insts[2]),
        &mi,
        json!({"reported_on": "2025-11-04", "summary": "not major"}),
    )
    .await
    .expect(404);
    let list = app
        .get(
            "/api/v1/reports/major-cases?as_of=2025-11-07",
            &app.auditor(),
        )
        .await
        .expect(200)
        .body;
    let cases = list["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 1, "{list}");
    assert_eq!(cases[0]["institution_id"], insts[0].as_str());
    let all = app
        .get("/api/v1/reports/major-cases?all=true", &app.auditor())
        .await
        .expect(200)
        .body;
    assert_eq!(all["cases"].as_array().unwrap().len(), 2);

    // The referral moves on: accepted with the police's case number.
    let r = app
        .post(
            &format!("/api/v1/referrals/{rid}/status"),
            &mi,
            json!({"status": "accepted", "case_number": "X公立〔2025〕88号"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(r["status"], "accepted");
    assert_eq!(r["version"], 2);

    // The rule is configurable (admins): at 1,000,000 yuan the unreported amount case
    // is no longer major.
    app.send(
        Method::PUT,
        "/api/v1/settings/major-case-rule",
        Some(&mi),
        Some(&json!({"threshold_fen": 100_000_000, "police_referral": true, "report_within_days": 3})),
        &[],
    )
    .await
    .expect(403);
    app.send(
        Method::PUT,
        "/api/v1/settings/major-case-rule",
        Some(&app.admin()),
        Some(&json!({"threshold_fen": 0, "police_referral": true, "report_within_days": 3})),
        &[],
    )
    .await
    .expect_problem_field(422, "threshold_fen");
    app.send(
        Method::PUT,
        "/api/v1/settings/major-case-rule",
        Some(&app.admin()),
        Some(&json!({"threshold_fen": 100_000_000, "police_referral": true, "report_within_days": 3})),
        &[],
    )
    .await
    .expect(200);
    let list = app
        .get(
            "/api/v1/reports/major-cases?as_of=2025-11-07",
            &app.auditor(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(list["cases"].as_array().unwrap().len(), 0, "{list}");
}

// ---- statistics: seed 001's monthly table, three counties and their city ----

const COUNTIES: [&str; 3] = ["150602", "150621", "150626"];

/// 鄂尔多斯市 (1506) and three counties, medical insurance and health organizations; per
/// county 3 hospitals, 6 pharmacies, 4 medical-insurance and 2 health inspectors.
async fn city(app: &TestApp) {
    let mut items = Vec::new();
    for (dept, short) in [(MI, "mi"), (HEALTH, "he")] {
        for c in COUNTIES {
            items.push(
                json!({"code": format!("{short}-{c}"), "name": format!("{c}{short}"),
                "level": "county", "region_prefix": c, "parent": format!("{short}-1506"),
                "department": dept}),
            );
        }
        items.push(
            json!({"code": format!("{short}-1506"), "name": format!("鄂尔多斯市{short}"),
            "level": "city", "region_prefix": "1506", "department": dept}),
        );
    }
    app.upload(
        "/api/v1/organizations/import",
        &app.admin(),
        "application/json",
        serde_json::to_vec(&items).unwrap(),
    )
    .await
    .expect(200);
    let mut n = 200u32;
    for c in COUNTIES {
        for i in 0..9 {
            let kind = if i < 3 {
                "designated_hospital"
            } else {
                "retail_pharmacy"
            };
            n += 1;
            app.institution(institution_body(n, kind, c)).await;
        }
        for (dept, prefix, count) in [(MI, "YB", 4), (HEALTH, "WJ", 2)] {
            for i in 0..count {
                app.inspector(inspector_body(dept, &format!("{prefix}{c}{i}"), c))
                    .await;
            }
        }
    }
}

/// A county's task (1 hospital and 2 pharmacies drawn), drawn by the county; its drawn
/// institutions.
async fn county_task(app: &TestApp, county: &str) -> (String, Vec<String>) {
    let lead = app.coordinator_in(MI, &format!("mi-{county}"));
    let body = json!({"title": format!("{county} 2023年8月专项治理"), "year": 2023, "round": 1,
     "protocol": "suiji-draw/1", "lead_department": MI,
     "departments": [{"code": MI, "team_size": 2}, {"code": HEALTH, "team_size": 1}],
     "strata": [{"id": "hospitals", "filter": {"kind": ["designated_hospital"]},
                 "ratio": {"num": 1, "den": 3}, "min": 1},
                {"id": "pharmacies", "filter": {"kind": ["retail_pharmacy"]},
                 "ratio": {"num": 1, "den": 3}, "min": 1}],
     "cross_region": false,
     "inspection_start": "2023-08-01", "inspection_end": "2023-08-31",
     "entropy_plan": [{"source": "department:medical_insurance"}, {"source": "department:health"},
                      {"source": "beacon:drand-quicknet", "note": "round 3500000"}]});
    let id = app
        .post("/api/v1/tasks", &lead, body)
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    for d in [MI, HEALTH] {
        app.post(
            &format!("/api/v1/tasks/{id}/commitments"),
            &app.coordinator(d),
            json!({"source": format!("department:{d}"), "commitment": commitment(d)}),
        )
        .await
        .expect(201);
    }
    app.post(&format!("/api/v1/tasks/{id}/seal"), &lead, json!(null))
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
        &lead,
        json!({"source": "beacon:drand-quicknet", "value": BEACON}),
    )
    .await
    .expect(201);
    let drawn = app
        .post(&format!("/api/v1/tasks/{id}/draw"), &lead, json!(null))
        .await
        .expect(200)
        .body;
    let insts: Vec<String> = drawn["selections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["institution"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(insts.len(), 3, "{drawn}");
    (id, insts)
}

async fn county_result(app: &TestApp, county: &str, id: &str, inst: &str, body: Value) {
    app.send(
        Method::PUT,
        &format!("/api/v1/tasks/{id}/results/{inst}"),
        Some(&app.coordinator_in(MI, &format!("mi-{county}"))),
        Some(&body),
        &[],
    )
    .await
    .expect(201);
}

fn no_problem() -> Value {
    json!({"category": "no_problem", "inspection_date": "2023-08-15"})
}

/// Columns 2–18 of a line, in the table's order.
fn columns(f: &Value) -> Vec<i64> {
    [
        "c2_inspected",
        "c3_violating",
        "c4_handled",
        "c5_interview",
        "c6_rectification",
        "c7_recovery",
        "c8_liquidated_damages",
        "c9_agreement_suspended",
        "c10_agreement_terminated",
        "c11_administrative_penalty",
        "c12_referred",
        "c13_supervised",
        "c14_violation_cases",
        "c15_recovered_fen",
        "c16_principal_fen",
        "c17_liquidated_damages_fen",
        "c18_penalty_fen",
    ]
    .iter()
    .map(|k| f[*k].as_i64().unwrap_or_else(|| panic!("{k} in {f}")))
    .collect()
}

#[tokio::test]
async fn seed_001_monthly_tables_for_three_counties_and_the_city() {
    let (app, clock) = spawn_app_at("2023-09-03T02:00:00Z").await;
    city(&app).await;
    let (a, ai) = county_task(&app, COUNTIES[0]).await;
    let (b, bi) = county_task(&app, COUNTIES[1]).await;
    let (c, ci) = county_task(&app, COUNTIES[2]).await;
    // County A: one institution handled four ways (约谈、限期整改、追回、违约金), one
    // penalised and referred to the police and another department (column 12 once), one
    // without problem.
    county_result(
        &app,
        COUNTIES[0],
        &a,
        &ai[0],
        json!({"category": "corrected",
        "inspection_date": "2023-08-15", "method": "on_site",
        "amounts": {"fund_recovered_fen": 110_000, "fund_principal_fen": 100_000,
                    "liquidated_damages_fen": 10_000, "penalty_fen": 0, "violations": 5},
        "violation_types": [{"violation": "phantom_inpatient", "cases": 5, "amount_fen": 100_000}],
        "handling": ["interview", "rectification", "recovery", "liquidated_damages"]}),
    )
    .await;
    county_result(
        &app,
        COUNTIES[0],
        &a,
        &ai[1],
        json!({"category": "follow_up_pending",
        "inspection_date": "2023-08-16", "method": "tip", "follow_up": ["referred_to_police"],
        "amounts": {"penalty_fen": 50_000},
        "handling": ["administrative_penalty", "referred_police", "referred_other"]}),
    )
    .await;
    county_result(&app, COUNTIES[0], &a, &ai[2], no_problem()).await;
    // County B: an old-style result (mapped: 限期整改 and 追回), a suspended and terminated
    // agreement under 挂牌督办, and one result not entered.
    county_result(
        &app,
        COUNTIES[1],
        &b,
        &bi[0],
        json!({"category": "corrected",
        "inspection_date": "2023-08-20",
        "amounts": {"fund_recovered_fen": 20_000, "penalty_fen": 0, "violations": 2}}),
    )
    .await;
    county_result(
        &app,
        COUNTIES[1],
        &b,
        &bi[1],
        json!({"category": "follow_up_pending",
        "inspection_date": "2023-08-21", "follow_up": ["case_opened"],
        "handling": ["agreement_suspended", "agreement_terminated", "supervised"]}),
    )
    .await;
    // County C: nothing found.
    for inst in &ci {
        county_result(&app, COUNTIES[2], &c, inst, no_problem()).await;
    }

    let expected_a = vec![
        3, 2, 2, 1, 1, 1, 1, 0, 0, 1, 1, 0, 5, 110_000, 100_000, 10_000, 50_000,
    ];
    let expected_b = vec![2, 2, 2, 0, 1, 1, 0, 1, 1, 0, 0, 1, 2, 20_000, 20_000, 0, 0];
    let expected_c = vec![3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let city_total: Vec<i64> = (0..17)
        .map(|i| expected_a[i] + expected_b[i] + expected_c[i])
        .collect();

    let ordos = app.coordinator_in(MI, "mi-1506");
    let s = app
        .get(
            "/api/v1/reports/summary?from=2023-08-01&to=2023-08-31&region_prefix=1506&group_by=org",
            &ordos,
        )
        .await
        .expect(200)
        .body;
    let rows = s["rows"].as_array().unwrap();
    let groups: Vec<&str> = rows.iter().map(|r| r["group"].as_str().unwrap()).collect();
    assert_eq!(groups, ["mi-150602", "mi-150621", "mi-150626"], "{s}");
    assert_eq!(columns(&rows[0]["figures"]), expected_a);
    assert_eq!(columns(&rows[1]["figures"]), expected_b);
    assert_eq!(columns(&rows[2]["figures"]), expected_c);
    assert_eq!(columns(&s["total"]["figures"]), city_total);
    assert_eq!(s["total"]["figures"]["c1_institutions"], 27);
    assert_eq!(rows[0]["figures"]["c20_tip"], 1);
    assert_eq!(rows[0]["figures"]["c21_on_site"], 1);
    // "4 ≤ 5+…+12" holds on every line (one institution, several handling forms).
    for r in rows.iter().chain(std::iter::once(&s["total"])) {
        assert_eq!(r["checks"][0]["rule"], "4 ≤ 5+6+7+8+9+10+11+12");
        assert!(
            r["checks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["holds"] == true),
            "{r}"
        );
    }
    assert_eq!(s["consistent"], true);
    assert_eq!(rows[1]["rates"]["result_entry"], "0.6667");
    assert_eq!(s["columns"][3]["number"], "4");
    assert_eq!(s["columns"][3]["title"], "处理机构数（家次）");
    // By month and by kind: the same totals.
    for g in ["month", "kind", "department"] {
        let by = app
            .get(
                &format!("/api/v1/reports/summary?from=2023-08-01&to=2023-08-31&region_prefix=1506&group_by={g}"),
                &ordos,
            )
            .await
            .expect(200)
            .body;
        assert_eq!(columns(&by["total"]["figures"]), city_total, "{g}");
    }
    // A county sees its own region only.
    let wushen = app.coordinator_in(MI, "mi-150626");
    app.get(
        "/api/v1/reports/summary?from=2023-08-01&to=2023-08-31&region_prefix=1506",
        &wushen,
    )
    .await
    .expect(403);
    let own = app
        .get(
            "/api/v1/reports/summary?from=2023-08-01&to=2023-08-31",
            &wushen,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(columns(&own["total"]["figures"]), expected_c);
    app.get(
        "/api/v1/reports/summary?from=2023-08-31&to=2023-08-01",
        &ordos,
    )
    .await
    .expect_problem_field(422, "to");
    // CSV and XLSX laid out like the seed's table: numbered columns, the note, the rules.
    let (h, csv) = app
        .download(
            "/api/v1/reports/summary?from=2023-08-01&to=2023-08-31&region_prefix=1506&group_by=org&format=csv",
            &ordos,
        )
        .await;
    assert!(h["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[1].starts_with("甲,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18"),
        "{csv}"
    );
    assert!(lines[2].contains("处理机构数"));
    assert!(
        lines[3]
            .starts_with("mi-150602,27,3,2,2,1,1,1,1,0,0,1,1,0,5,1100.00,1000.00,100.00,500.00"),
        "{csv}"
    );
    assert!(lines[6].starts_with("合计,27,8,4,4,"), "{csv}");
    assert!(csv.contains("4≤5+6+7+8+9+10+11+12"));
    assert!(csv.contains("校验 4 ≤ 5+6+7+8+9+10+11+12,成立"));
    let (h, xlsx) = app
        .download(
            "/api/v1/reports/summary?from=2023-08-01&to=2023-08-31&region_prefix=1506&group_by=org&format=xlsx",
            &ordos,
        )
        .await;
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    assert_eq!(&xlsx[..2], b"PK");

    // Submissions: counties A and C submit August on 09-03; September is not over.
    let submit = |county: &str, month: &str| {
        format!("/api/v1/reports/monthly/mi-{county}/{month}/submission")
    };
    let audit = app.audit_len().await;
    let sa = app
        .post(
            &submit(COUNTIES[0], "2023-08"),
            &app.coordinator_in(MI, "mi-150602"),
            json!(null),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(sa["late"], false);
    assert_eq!(sa["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(columns(&sa["report"]["total"]["figures"]), expected_a);
    assert_eq!(app.audit_len().await, audit + 1);
    app.post(
        &submit(COUNTIES[2], "2023-08"),
        &app.coordinator_in(MI, "mi-150626"),
        json!(null),
    )
    .await
    .expect(201);
    // Not for another county; not twice; not a month still running.
    app.post(&submit(COUNTIES[1], "2023-08"), &wushen, json!(null))
        .await
        .expect(403);
    app.post(
        &submit(COUNTIES[0], "2023-08"),
        &app.coordinator_in(MI, "mi-150602"),
        json!(null),
    )
    .await
    .expect(409);
    app.post(
        &submit(COUNTIES[0], "2023-09"),
        &app.coordinator_in(MI, "mi-150602"),
        json!(null),
    )
    .await
    .expect(409);
    app.post(
        &submit(COUNTIES[0], "2023-8"),
        &app.coordinator_in(MI, "mi-150602"),
        json!(null),
    )
    .await
    .expect_problem_field(422, "month");

    // Frozen: a later change to a result does not change the submitted report.
    county_result(
        &app,
        COUNTIES[0],
        &a,
        &ai[2],
        json!({"category": "corrected",
        "inspection_date": "2023-08-15", "handling": ["interview"]}),
    )
    .await;

    // The city on the 5th: B has not submitted yet, but is not late.
    let o = app
        .get(
            "/api/v1/reports/monthly/mi-1506/2023-08?as_of=2023-09-05",
            &ordos,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(o["due"], "2023-09-05");
    let status: Vec<&str> = o["subordinates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(status, ["submitted", "missing", "submitted"], "{o}");
    // On the 6th B is flagged late.
    let o = app
        .get(
            "/api/v1/reports/monthly/mi-1506/2023-08?as_of=2023-09-06",
            &ordos,
        )
        .await
        .expect(200)
        .body;
    let status: Vec<&str> = o["subordinates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(status, ["submitted", "overdue", "submitted"], "{o}");
    assert_eq!(o["subordinates"][0]["submission"]["sha256"], sa["sha256"]);
    assert_eq!(
        columns(&o["subordinates"][0]["submission"]["report"]["total"]["figures"]),
        expected_a,
        "the submitted report is frozen"
    );
    // B submits on the 6th: late. The city aggregates the three reports.
    clock.set(instant("2023-09-06T02:00:00Z"));
    let sb = app
        .post(
            &submit(COUNTIES[1], "2023-08"),
            &app.coordinator_in(MI, "mi-150621"),
            json!(null),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(sb["late"], true);
    let o = app
        .get(
            "/api/v1/reports/monthly/mi-1506/2023-08?as_of=2023-09-06",
            &ordos,
        )
        .await
        .expect(200)
        .body;
    let status: Vec<&str> = o["subordinates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(status, ["submitted", "late", "submitted"], "{o}");
    assert_eq!(columns(&o["aggregate"]["total"]["figures"]), city_total);
    assert_eq!(o["aggregate"]["total"]["figures"]["c1_institutions"], 27);
    assert_eq!(o["aggregate"]["consistent"], true);
}
