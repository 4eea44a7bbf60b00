//! The seed 003 bundle, byte for byte. The lifecycle code that seals, draws and replaces
//! may be reshaped, but what it stores and what the bundle says must not change: this test
//! replays the seed 003 scenario with fixed ids and compares the bundle with the bytes the
//! code produced before the reshaping (`golden/seed003-bundle.json`).
//!
//! Ids are server-assigned UUIDs, and they enter the pool hash (hence the seed); to make
//! the scenario reproducible the test renames the rows to fixed ids in the SQLite file
//! between steps. That needs foreign keys off on its own connection, which is SQLite's
//! default, so the test runs on SQLite only.

use crate::helpers::*;
use serde_json::json;
use sqlx::Connection;

const GOLDEN: &str = "tests/api/golden/seed003-bundle.json";
const TASK: &str = "00000000-0000-7000-8000-000000000003";

async fn rename(app: &TestApp, statements: &[&str]) {
    let mut conn = sqlx::SqliteConnection::connect(&app.database_url)
        .await
        .expect("open the test database");
    sqlx::query("PRAGMA foreign_keys = OFF")
        .execute(&mut conn)
        .await
        .unwrap();
    for s in statements {
        sqlx::query(sqlx::AssertSqlSafe(s.to_string()))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    conn.close().await.unwrap();
}

#[tokio::test]
async fn seed_003_bundle_is_byte_identical_to_the_golden_file() {
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        eprintln!("golden bundle: SQLite only (ids are renamed in the file)");
        return;
    }
    let app = spawn_app().await;
    seed_003_county(&app).await;
    rename(
        &app,
        &[
            "UPDATE institution_tags SET institution_id = \
             (SELECT printf('inst-%03d', i.rowid) FROM institutions i WHERE i.id = institution_id)",
            "UPDATE institutions SET id = printf('inst-%03d', rowid)",
            "UPDATE inspectors SET id = 'insp-' || certificate_no",
        ],
    )
    .await;
    let id = create_task(&app, seed_003_task()).await;
    rename(
        &app,
        &[
            // The entropy guard (0016) refuses moving rows to another task; this fixture
            // renames the task as a whole, so it lifts the guard on its own copy.
            "DROP TRIGGER task_entropy_once",
            &format!("UPDATE tasks SET id = '{TASK}' WHERE id = '{id}'"),
            &format!("UPDATE task_entropy SET task_id = '{TASK}' WHERE task_id = '{id}'"),
            &format!("UPDATE task_departments SET task_id = '{TASK}' WHERE task_id = '{id}'"),
        ],
    )
    .await;
    let id = TASK;
    commit_all(&app, id, &[MI, HEALTH, MR]).await;
    app.post(
        &format!("/api/v1/tasks/{id}/seal"),
        &app.coordinator(MI),
        json!(null),
    )
    .await
    .expect(200);
    reveal_all(&app, id, &[MI, HEALTH, MR], true).await;
    let task = app
        .post(
            &format!("/api/v1/tasks/{id}/draw"),
            &app.coordinator(MI),
            json!(null),
        )
        .await
        .expect(200)
        .body;
    // One replacement, so the bundle carries the replacement chain too.
    let sel = &task["selections"][0];
    let mi = sel["team"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["department"] == MI)
        .unwrap();
    app.post(
        &format!("/api/v1/tasks/{id}/replacements"),
        &app.coordinator(MI),
        json!({"institution": sel["institution"], "department": MI,
               "out": mi["inspectors"][0], "reason": "回避：近亲属在该机构任职"}),
    )
    .await
    .expect(201);
    let bytes = bundle(&app, id).await;
    if std::env::var("SUIJI_BLESS_GOLDEN").is_ok() {
        std::fs::write(GOLDEN, &bytes).unwrap();
    }
    let golden = std::fs::read(GOLDEN).expect("the golden bundle is checked in");
    assert!(
        bytes == golden,
        "the seed 003 bundle changed:\n{}",
        String::from_utf8_lossy(&bytes)
    );
}
