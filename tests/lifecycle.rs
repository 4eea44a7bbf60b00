//! The task lifecycle as a library, on a temporary SQLite store, without HTTP: the steps
//! in order, who may take them, in which state, and what a refusal says.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use suiji::auth::{Principal, Role};
use suiji::domain::registry::{InspectorInput, InstitutionInput};
use suiji::domain::result::ResultInput;
use suiji::domain::task::{TaskInput, TaskState};
use suiji::domain::{DepartmentCode, IdempotencyKey};
use suiji::store::audit::Actor;
use suiji::store::{Store, records};
use suiji::tasks::{
    self, CancelInput, CommitmentInput, Drawn, PublishResultsInput, ReplacementInput, RevealInput,
    TaskError,
};

const MI: &str = "medical_insurance";
const HEALTH: &str = "health";
const MR: &str = "market_regulation";
const REGIONS: [&str; 3] = ["150602", "150621", "150622"];
const BEACON: &str = "fe2ed2099f8bbc53ebfd7b9788ff3172c2ba2409849ba91b1372790d7b7f2e39";

struct Fixture {
    db: Store,
    _dir: tempfile::TempDir,
}

fn coordinator(dept: &str) -> Principal {
    Principal {
        sub: format!("coord-{dept}"),
        role: Role::Coordinator,
        department: Some(DepartmentCode::parse(dept).unwrap()),
        organization: None,
    }
}

fn auditor() -> Principal {
    Principal {
        sub: "auditor".into(),
        role: Role::Auditor,
        department: None,
        organization: None,
    }
}

fn credit_code(prefix17: &str) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [usize; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let sum: usize = prefix17
        .bytes()
        .zip(W)
        .map(|(c, w)| A.iter().position(|&a| a == c).unwrap() * w)
        .sum();
    format!("{prefix17}{}", A[(31 - sum % 31) % 31] as char)
}

/// The seed 003 county, written straight through the store.
async fn seed_003() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/suiji.db?mode=rwc", dir.path().display());
    let db = Store::open(&url).await.unwrap();
    let actor = Actor {
        sub: "seed".into(),
        role: "admin".into(),
    };
    let mut tx = db.begin().await.unwrap();
    for n in 0..79u32 {
        let kind = if n < 7 {
            "designated_hospital"
        } else {
            "retail_pharmacy"
        };
        let doc: InstitutionInput = serde_json::from_value(json!({
            "credit_code": credit_code(&format!("9115060{n:010}")),
            "name": format!("机构{n}"), "kind": kind,
            "level": if n < 7 { "secondary" } else { "none" },
            "ownership": "private", "region": REGIONS[n as usize % 3],
            "address": "", "risk_grade": "B", "tags": []}))
        .unwrap();
        records::insert(&mut tx, &actor, &doc).await.unwrap();
    }
    for (dept, count, prefix) in [(MI, 6, "YB"), (HEALTH, 3, "WJ"), (MR, 3, "SJ")] {
        for i in 0..count {
            let doc: InspectorInput = serde_json::from_value(json!({
                "department": dept, "name": format!("检查员{prefix}{i}"),
                "certificate_no": format!("{prefix}{i:04}"),
                "region": REGIONS[i % 3]}))
            .unwrap();
            records::insert(&mut tx, &actor, &doc).await.unwrap();
        }
    }
    tx.commit().await.unwrap();
    Fixture { db, _dir: dir }
}

fn seed_003_task() -> TaskInput {
    let v: Value = json!({"title": "2023年定点医药机构跨部门双随机联合抽查", "year": 2023, "round": 2,
     "protocol": "suiji-draw/1",
     "lead_department": MI,
     "departments": [{"code": MI, "team_size": 2}, {"code": HEALTH, "team_size": 1},
                     {"code": MR, "team_size": 1}],
     "strata": [{"id": "designated_hospitals", "filter": {"kind": ["designated_hospital"]},
                 "ratio": {"num": 5, "den": 100}, "min": 1, "max": null},
                {"id": "retail_pharmacies", "filter": {"kind": ["retail_pharmacy"], "region_prefix": ["1506"]},
                 "ratio": {"num": 5, "den": 100}, "min": 1, "max": null}],
     "cross_region": false, "max_assignments_per_inspector": null,
     "inspection_start": "2023-08-01", "inspection_end": "2023-08-31", "items": [],
     "entropy_plan": [{"source": "department:medical_insurance"}, {"source": "department:health"},
                      {"source": "department:market_regulation"},
                      {"source": "beacon:drand-quicknet", "note": "round 3500000"}]});
    serde_json::from_value(v).unwrap()
}

fn secret(dept: &str) -> String {
    hex::encode(Sha256::digest(format!("secret of {dept}").as_bytes()))
}

fn commitment(dept: &str) -> String {
    hex::encode(Sha256::digest(hex::decode(secret(dept)).unwrap()))
}

async fn commit_all(db: &Store, id: &str) {
    for d in [MI, HEALTH, MR] {
        let input = CommitmentInput {
            source: format!("department:{d}"),
            commitment: commitment(d),
        };
        tasks::commit(db, &coordinator(d), id, &input)
            .await
            .unwrap();
    }
}

async fn reveal_all(db: &Store, id: &str) {
    for d in [MI, HEALTH, MR] {
        let input = RevealInput {
            source: format!("department:{d}"),
            value: secret(d),
        };
        tasks::reveal(db, &coordinator(d), id, &input)
            .await
            .unwrap();
    }
    let beacon = RevealInput {
        source: "beacon:drand-quicknet".into(),
        value: BEACON.into(),
    };
    tasks::reveal(db, &coordinator(MI), id, &beacon)
        .await
        .unwrap();
}

#[track_caller]
fn wrong_state<T>(r: Result<T, TaskError>, expected: TaskState) {
    match r {
        Err(TaskError::WrongState { current, .. }) => assert_eq!(current, expected),
        Err(other) => panic!("expected wrong state {expected}, got {other:?}"),
        Ok(_) => panic!("expected wrong state {expected}, got a value"),
    }
}

#[tokio::test]
async fn the_seed_003_task_goes_through_its_whole_life() {
    let f = seed_003().await;
    let (db, lead) = (&f.db, coordinator(MI));
    let task = tasks::create(db, &lead, &seed_003_task()).await.unwrap();
    let id = task.id.as_str();
    assert_eq!(task.state, TaskState::Draft);
    commit_all(db, id).await;
    let sealed = tasks::seal(db, &lead, id).await.unwrap();
    assert_eq!(sealed.state, TaskState::Sealed);
    assert_eq!(sealed.pool_hash.as_ref().unwrap().len(), 64);
    reveal_all(db, id).await;
    let Drawn::Made(drawn) = tasks::draw(db, &lead, id, None).await.unwrap() else {
        panic!("the first draw makes it");
    };
    assert_eq!(drawn.state, TaskState::Drawn);
    assert_eq!(drawn.seed.as_ref().unwrap().len(), 64);

    let record = {
        let mut conn = db.read().await.unwrap();
        suiji::store::tasks::load_draw(&mut conn, id)
            .await
            .unwrap()
            .unwrap()
    };
    // 5 % of 7 hospitals and of 72 pharmacies, at least one each: 1 + 4.
    assert_eq!(record.result.selections.len(), 5);
    let first = &record.result.selections[0];
    let leaving = first
        .team
        .iter()
        .find(|t| t.department == MI)
        .unwrap()
        .inspectors[0]
        .clone();
    let replacement = tasks::replace(
        db,
        &lead,
        id,
        &ReplacementInput {
            institution: first.institution.clone(),
            department: MI.into(),
            out: leaving.clone(),
            reason: "回避".into(),
        },
    )
    .await
    .unwrap()
    .replacement;
    assert_eq!(replacement.seq, 1);
    assert_eq!(replacement.out, leaving);
    assert_ne!(replacement.r#in, leaving);

    let published = tasks::publish(db, &lead, id).await.unwrap();
    assert_eq!(published.state, TaskState::Published);

    let result: ResultInput = serde_json::from_value(json!({
        "inspection_date": "2023-08-10", "category": "no_problem"}))
    .unwrap();
    let recorded = tasks::record_result(db, &lead, id, &first.institution, &result)
        .await
        .unwrap();
    assert!(recorded.created);
    assert_eq!(recorded.versions.len(), 1);
    // The same content again is no new version.
    let again = tasks::record_result(db, &lead, id, &first.institution, &result)
        .await
        .unwrap();
    assert!(!again.created);
    let done = tasks::publish_results(db, &lead, id, &PublishResultsInput::default())
        .await
        .unwrap();
    assert_eq!(done.published, 1);
    assert_eq!(done.pending, 4);
    assert_eq!(done.state, TaskState::Published);
}

#[tokio::test]
async fn steps_are_refused_by_role_and_by_state() {
    let f = seed_003().await;
    let (db, lead) = (&f.db, coordinator(MI));
    assert!(matches!(
        tasks::create(db, &coordinator(HEALTH), &seed_003_task()).await,
        Err(TaskError::Forbidden(_))
    ));
    let id = tasks::create(db, &lead, &seed_003_task()).await.unwrap().id;
    assert!(matches!(
        tasks::get(db, "no-such-task").await,
        Err(TaskError::NotFound(_))
    ));
    wrong_state(tasks::draw(db, &lead, &id, None).await, TaskState::Draft);
    wrong_state(tasks::publish(db, &lead, &id).await, TaskState::Draft);
    // Sealing waits for every department's commitment.
    assert!(matches!(
        tasks::seal(db, &lead, &id).await,
        Err(TaskError::Conflict(_))
    ));
    // Only the department's own coordinator commits, once.
    let mi = CommitmentInput {
        source: format!("department:{MI}"),
        commitment: commitment(MI),
    };
    assert!(matches!(
        tasks::commit(db, &coordinator(HEALTH), &id, &mi).await,
        Err(TaskError::Forbidden(_))
    ));
    commit_all(db, &id).await;
    assert!(matches!(
        tasks::commit(db, &lead, &id, &mi).await,
        Err(TaskError::Conflict(_))
    ));
    let beacon = CommitmentInput {
        source: "beacon:drand-quicknet".into(),
        commitment: commitment(MI),
    };
    match tasks::commit(db, &lead, &id, &beacon).await {
        Err(TaskError::Invalid(errors)) => assert_eq!(errors[0].field, "source"),
        other => panic!("a beacon does not commit: {:?}", other.err()),
    }
    assert!(matches!(
        tasks::seal(db, &auditor(), &id).await,
        Err(TaskError::Forbidden(_))
    ));
    tasks::seal(db, &lead, &id).await.unwrap();
    // A secret that does not match its commitment names the field.
    let wrong = RevealInput {
        source: format!("department:{HEALTH}"),
        value: secret(MI),
    };
    match tasks::reveal(db, &coordinator(HEALTH), &id, &wrong).await {
        Err(TaskError::Invalid(errors)) => assert_eq!(errors[0].field, "value"),
        other => panic!("expected a refused value: {:?}", other.err()),
    }
    assert!(matches!(
        tasks::draw(db, &lead, &id, None).await,
        Err(TaskError::Conflict(_))
    ));
    reveal_all(db, &id).await;
    let key = IdempotencyKey::parse("once").unwrap();
    assert!(matches!(
        tasks::draw(db, &lead, &id, Some(&key)).await.unwrap(),
        Drawn::Made(_)
    ));
    // The same key is a replay; another key is a second draw, refused.
    match tasks::draw(db, &lead, &id, Some(&key)).await.unwrap() {
        Drawn::Replayed { task, answer } => {
            assert_eq!(task.state, TaskState::Drawn);
            assert_eq!(answer, None, "no answer was kept yet");
        }
        Drawn::Made(_) => panic!("a second draw was made"),
    }
    let kept = tasks::keep_draw_answer(db, &id, &key, "first".into())
        .await
        .unwrap();
    assert_eq!(kept, "first");
    let kept = tasks::keep_draw_answer(db, &id, &key, "second".into())
        .await
        .unwrap();
    assert_eq!(kept, "first", "the first kept answer stays");
    match tasks::draw(db, &lead, &id, Some(&key)).await.unwrap() {
        Drawn::Replayed { answer, .. } => assert_eq!(answer.as_deref(), Some("first")),
        Drawn::Made(_) => panic!("a second draw was made"),
    }
    let other = IdempotencyKey::parse("other").unwrap();
    wrong_state(
        tasks::draw(db, &lead, &id, Some(&other)).await,
        TaskState::Drawn,
    );
    wrong_state(
        tasks::cancel(
            db,
            &lead,
            &id,
            &CancelInput {
                reason: "too late".into(),
            },
        )
        .await,
        TaskState::Drawn,
    );
}

/// suiji-draw/2 without a beacon keeps /1's rule: every department must reveal (the
/// deadline does not close reveals, or a late department would block the task for good);
/// from the first reveal on the task cannot be cancelled; the values stay out of every
/// view until the draw, and the bundle verifies.
#[tokio::test]
async fn a_v2_task_without_a_beacon_needs_every_department_and_cannot_be_cancelled_once_revealed() {
    let f = seed_003().await;
    let clock = suiji::domain::Clock::simulated(
        chrono::DateTime::parse_from_rfc3339("2023-09-15T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
    );
    let db = &f.db.clone().with_clock(clock.clone());
    let lead = coordinator(MI);
    let mut cfg = seed_003_task();
    cfg.protocol = None;
    cfg.entropy_plan
        .retain(|p| p.source.starts_with("department:"));
    cfg.reveal_deadline = Some(
        chrono::DateTime::parse_from_rfc3339("2023-09-15T10:30:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
    );
    let id = tasks::create(db, &lead, &cfg).await.unwrap().id;
    commit_all(db, &id).await;
    tasks::seal(db, &lead, &id).await.unwrap();
    let reveal = |d: &str| RevealInput {
        source: format!("department:{d}"),
        value: secret(d),
    };
    tasks::reveal(db, &coordinator(MI), &id, &reveal(MI))
        .await
        .unwrap();
    let cancel = CancelInput {
        reason: "start again".into(),
    };
    match tasks::cancel(db, &lead, &id, &cancel).await {
        Err(TaskError::Conflict(m)) => assert!(m.contains("reveal"), "{m}"),
        other => panic!("cancel after a reveal: {other:?}"),
    }
    clock.set(
        chrono::DateTime::parse_from_rfc3339("2023-09-16T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
    );
    tasks::reveal(db, &coordinator(HEALTH), &id, &reveal(HEALTH))
        .await
        .unwrap();
    match tasks::draw(db, &lead, &id, None).await {
        Err(TaskError::Conflict(m)) => assert!(m.contains(MR), "{m}"),
        Err(other) => panic!("draw before every reveal: {other:?}"),
        Ok(_) => panic!("a draw without every department"),
    }
    tasks::reveal(db, &coordinator(MR), &id, &reveal(MR))
        .await
        .unwrap();
    let Drawn::Made(task) = tasks::draw(db, &lead, &id, None).await.unwrap() else {
        panic!("the first draw makes it");
    };
    let bytes = tasks::bundle2(db, &task, false).await.unwrap().unwrap();
    let b = suiji::draw::v2::parse_bundle(&bytes).unwrap();
    assert_eq!(b.verify().unwrap().spec, "suiji-draw/2");
    assert_eq!(
        b.trust(),
        suiji::draw::v2::Trust::SeveralDepartments { count: 3 }
    );
}
