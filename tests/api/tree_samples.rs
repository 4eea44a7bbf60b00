//! Samples over large lists in the tree form (issue 14's speed requirement,
//! docs/draw-spec.md B.18): above `record_tree_rows` records the seal commits to each
//! stratum (each group) by a Merkle root and the bundle discloses only the considered
//! members with paths. The same checks as the list form: the bundle verifies with and
//! without the list and salt, names nobody, and the records endpoint gives the ids.

use crate::helpers::*;
use crate::lists::patients_csv;
use crate::samples::{SEALED_AT, sample_task, seal_and_draw, upload};
use serde_json::{Value, json};

/// A plain stratum (20 门慢), a capped one (5 门特, one per disease) and a nested one
/// (4 国谈药 in each of three institutions, at most 2 per disease).
fn strata() -> Value {
    json!([
        {"id": "p", "records": {"category": ["门慢"]},
         "ratio": {"num": 0, "den": 1}, "min": 20, "max": 20},
        {"id": "q", "records": {"category": ["门特"]}, "cap": {"column": "disease", "max": 1},
         "ratio": {"num": 0, "den": 1}, "min": 5, "max": 5},
        {"id": "r", "records": {"category": ["国谈药"], "institution": ["I000", "I002", "I005"]},
         "group_by": "institution", "cap": {"column": "disease", "max": 2},
         "ratio": {"num": 0, "den": 1}, "min": 4, "max": 4}
    ])
}

async fn app_with_trees() -> (TestApp, suiji::domain::Clock) {
    let clock = suiji::domain::Clock::simulated(instant(SEALED_AT));
    let shared = clock.clone();
    let app = spawn_app_with(move |c| {
        c.clock = shared;
        c.record_tree_rows = 100;
    })
    .await;
    (app, clock)
}

#[tokio::test]
async fn a_large_list_is_sampled_in_tree_form_plain_capped_and_nested() {
    let (app, clock) = app_with_trees().await;
    let list = upload(&app, 2000).await;
    let id = create_task(&app, sample_task(&list, strata())).await;
    let drawn = seal_and_draw(&app, &clock, &id).await;
    assert_eq!(drawn["selections"].as_array().unwrap().len(), 37, "{drawn}");

    // The records: patient i has category i % 4, institution I{i % 7}, disease D{i % 5}.
    let r = app
        .get(&format!("/api/v1/tasks/{id}/records"), &app.auditor())
        .await
        .expect(200);
    let mut q_diseases = std::collections::BTreeSet::new();
    let mut r_per: std::collections::BTreeMap<(u64, u64), u64> = Default::default();
    let mut r_inst: std::collections::BTreeMap<u64, u64> = Default::default();
    for rec in r.body["records"].as_array().unwrap() {
        let i: u64 = rec["id"].as_str().unwrap()[1..].parse().unwrap();
        match rec["stratum"].as_str().unwrap() {
            "p" => assert_eq!(i % 4, 0),
            "q" => {
                assert_eq!(i % 4, 1);
                assert!(q_diseases.insert(i % 5), "one per disease");
            }
            _ => {
                assert_eq!(i % 4, 2);
                *r_per.entry((i % 7, i % 5)).or_default() += 1;
                *r_inst.entry(i % 7).or_default() += 1;
            }
        }
    }
    assert_eq!(q_diseases.len(), 5);
    assert_eq!(r_inst.keys().copied().collect::<Vec<_>>(), vec![0, 2, 5]);
    assert!(r_inst.values().all(|&n| n == 4), "{r_inst:?}");
    assert!(r_per.values().all(|&n| n <= 2), "{r_per:?}");
    let sizes: Vec<u64> = r.body["strata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["size"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, vec![500, 500, 214], "{}", r.body);

    // The bundle: tree form, nobody named, verifies alone and with the list and salt.
    let bytes = bundle(&app, &id).await;
    assert!(!String::from_utf8(bytes.clone()).unwrap().contains("P00"));
    let suiji::draw::v2::AnyBundle::V2(b) = suiji::draw::v2::parse_bundle(&bytes).unwrap() else {
        panic!("a /2 bundle")
    };
    assert!(b.snapshot.strata.iter().all(|s| s.members.is_empty()));
    let records = b.snapshot.records.as_ref().unwrap();
    assert!(records.strata.iter().all(|s| s.trees.is_some()));
    assert_eq!(records.strata[2].trees.as_ref().unwrap().len(), 3);
    let members = b.members.as_ref().unwrap();
    assert!(members.len() >= 37);
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
    assert_eq!(
        suiji::verify_cmd::run_with_list(&bfile, &[], None),
        std::process::ExitCode::SUCCESS
    );
    // Another list (one record fewer) does not give the sealed trees.
    std::fs::write(&file, patients_csv(1999)).unwrap();
    assert_ne!(
        suiji::verify_cmd::run_with_list(&bfile, &[], Some((&file, &salt))),
        std::process::ExitCode::SUCCESS
    );
}

#[tokio::test]
async fn an_impossible_cap_is_refused_at_seal_in_tree_form_too() {
    let (app, _clock) = app_with_trees().await;
    let list = upload(&app, 400).await;
    // 100 门特 patients over 5 diseases: at most 1 each gives 5, not 6.
    let id = create_task(
        &app,
        sample_task(
            &list,
            json!([{"id": "q", "records": {"category": ["门特"]},
                    "cap": {"column": "disease", "max": 1},
                    "ratio": {"num": 0, "den": 1}, "min": 6, "max": 6}]),
        ),
    )
    .await;
    app.post(
        &format!("/api/v1/tasks/{id}/seal"),
        &app.coordinator("medical_insurance"),
        json!(null),
    )
    .await
    .expect_problem_field(422, "strata[0].cap.max");
    let t = app
        .get(&format!("/api/v1/tasks/{id}"), &app.admin())
        .await
        .expect(200);
    assert_eq!(t.body["state"], "draft");
}
