//! The binary killed with SIGKILL in the middle of a 200,000-row import, of the seal and
//! of the draw of a 100,000-institution pool, at several moments: after a restart nothing
//! is half written (no rows, or all of them; a task's state agrees with its stored
//! snapshot, result and audit entries), the audit chain verifies and the operation can be
//! retried. Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.

use crate::helpers::*;
use sqlx::Connection;
use std::process::{Command, Stdio};

const ROWS: u32 = 200_000;

async fn count(url: &str) -> i64 {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM institutions")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.ok();
    n
}

fn audit_verify(url: &str) -> bool {
    Command::new(env!("CARGO_BIN_EXE_suiji"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

#[tokio::test]
async fn sigkill_during_a_large_import_leaves_nothing_half_written() {
    // A service creates and migrates the database; the CLI then imports into it.
    let app = spawn_app().await;
    let url = app.database_url.clone();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.csv");
    let mut text = String::from(
        "credit_code,name,kind,level,ownership,region,address,risk_grade,status,tags\n",
    );
    for n in 0..ROWS {
        let code = credit_code(&format!("9115090{n:010}"));
        text +=
            &format!("{code},药店{n},retail_pharmacy,none,private,150602,某某路{n}号,B,active,\n");
    }
    std::fs::write(&file, text).unwrap();
    let entries = app.audit_len().await;
    // Several kill moments: while reading and validating, while writing batches.
    for ms in [200u64, 1_000, 3_000, 6_000] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_suiji"))
            .args(["import", "institutions", file.to_str().unwrap()])
            .env("DATABASE_URL", &url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill(); // SIGKILL on Unix
        child.wait().unwrap();
        let n = count(&url).await;
        if finished {
            assert_eq!(
                n,
                i64::from(ROWS),
                "an import that finished wrote every row"
            );
            break;
        }
        assert_eq!(n, 0, "killed after {ms} ms: {n} rows half written");
        assert!(
            audit_verify(&url),
            "audit chain broken after a kill at {ms} ms"
        );
        assert_eq!(app.audit_len().await, entries);
    }
    // After the kills, the same import runs through.
    if count(&url).await == 0 {
        let out = Command::new(env!("CARGO_BIN_EXE_suiji"))
            .args(["import", "institutions", file.to_str().unwrap()])
            .env("DATABASE_URL", &url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(count(&url).await, i64::from(ROWS));
    assert!(audit_verify(&url));
    assert_eq!(app.audit_len().await, entries + 1);
}

/// `suiji serve` as a real process on a free port, on the test's database.
struct Server {
    child: std::process::Child,
    base: String,
}

impl Server {
    async fn start(url: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_suiji"))
            .arg("serve")
            .env("DATABASE_URL", url)
            .env("SUIJI_JWT_SECRET", SECRET)
            .env("SUIJI_BIND", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(r) = client.get(format!("{base}/healthz")).send().await
                && r.status().is_success()
            {
                return Self { child, base };
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        child.wait().unwrap();
        panic!("suiji serve did not answer /healthz");
    }

    fn kill(mut self) {
        let _ = self.child.kill(); // SIGKILL on Unix
        self.child.wait().unwrap();
    }
}

/// What the database holds for one task, read directly: its state, whether the seal's and
/// the draw's parts are there, and how many seal/draw entries the audit log has.
#[derive(Debug, PartialEq)]
struct Stored {
    state: String,
    pool_hash: bool,
    snapshots: i64,
    seed: bool,
    results: i64,
    seal_entries: i64,
    draw_entries: i64,
}

async fn stored(url: &str, id: &str) -> Stored {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let row = sqlx::query("SELECT state, pool_hash, seed FROM tasks WHERE id = $1")
        .bind(id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let n = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).bind(id.to_string());
    let s = Stored {
        state: row.get("state"),
        pool_hash: row.get::<Option<String>, _>("pool_hash").is_some(),
        seed: row.get::<Option<String>, _>("seed").is_some(),
        snapshots: n("SELECT COUNT(*) FROM task_snapshots WHERE task_id = $1")
            .fetch_one(&mut conn)
            .await
            .unwrap(),
        results: n("SELECT COUNT(*) FROM task_results WHERE task_id = $1")
            .fetch_one(&mut conn)
            .await
            .unwrap(),
        seal_entries: n(
            "SELECT COUNT(*) FROM audit_log WHERE object_id = $1 AND action = 'task.seal'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap(),
        draw_entries: n(
            "SELECT COUNT(*) FROM audit_log WHERE object_id = $1 AND action = 'task.draw'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap(),
    };
    conn.close().await.ok();
    s
}

/// The seal's parts (snapshot row, pool hash, one audit entry) are all there or none, and
/// so are the draw's (result row, seed, one audit entry); the state says which.
fn assert_whole(s: &Stored, when: &str) {
    let sealed = matches!(s.state.as_str(), "sealed" | "revealed" | "drawn");
    let drawn = s.state == "drawn";
    let seal = (s.pool_hash, s.snapshots, s.seal_entries);
    let draw = (s.seed, s.results, s.draw_entries);
    if sealed {
        assert_eq!(seal, (true, 1, 1), "{when}: seal half written: {s:?}");
    } else {
        assert_eq!(seal, (false, 0, 0), "{when}: seal half written: {s:?}");
    }
    if drawn {
        assert_eq!(draw, (true, 1, 1), "{when}: draw half written: {s:?}");
    } else {
        assert_eq!(draw, (false, 0, 0), "{when}: draw half written: {s:?}");
    }
}

/// Kills a real server at several moments of one step (`seal` or `draw`) of task `id`,
/// checking after each kill that the step is whole or absent and the chain verifies; then
/// retries the step on a fresh server until it succeeds. Returns (kills, kills that landed
/// after the step had committed).
async fn kill_during(app: &TestApp, id: &str, step: &str, done: &str) -> (usize, usize) {
    let url = &app.database_url;
    let mut kills = 0;
    let mut late = 0;
    for ms in [5u64, 40, 150, 400, 900, 1_800] {
        let server = Server::start(url).await;
        let client = reqwest::Client::new();
        let request = client
            .post(format!("{}/api/v1/tasks/{id}/{step}", server.base))
            .bearer_auth(app.coordinator(MI))
            .send();
        let call = tokio::spawn(request);
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        server.kill();
        kills += 1;
        let answer = call.await.unwrap();
        let s = stored(url, id).await;
        assert_whole(&s, &format!("{step} killed after {ms} ms"));
        eprintln!("{step}: killed after {ms} ms -> state {}", s.state);
        assert!(
            audit_verify(url),
            "{step}: chain broken after a kill at {ms} ms"
        );
        if let Ok(r) = answer {
            // An answer that got out before the kill was a success, and it stuck.
            assert_eq!(r.status().as_u16(), 200, "{step} at {ms} ms");
            assert_eq!(s.state, done, "{step} answered 200 but did not stick");
        }
        if s.state == done {
            late += 1;
            break;
        }
    }
    // Retried on a fresh process, the step succeeds (or was already made).
    let server = Server::start(url).await;
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/tasks/{id}/{step}", server.base))
        .bearer_auth(app.coordinator(MI))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    server.kill();
    let s = stored(url, id).await;
    if late == 0 {
        assert_eq!(status, 200, "{step} retried after the kills");
    } else {
        assert_eq!(status, 409, "{step} made before the last kill");
    }
    assert_eq!(s.state, done);
    assert_whole(&s, &format!("{step} retried"));
    (kills, late)
}

const POOL: u32 = 100_000;

#[tokio::test]
async fn sigkill_during_seal_and_draw_of_a_large_pool_leaves_nothing_half_written() {
    let app = spawn_app().await;
    let url = app.database_url.clone();
    seed_003_county(&app).await;
    // 100,000 pharmacies in the task's region, imported by the CLI in one go.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pool.csv");
    let mut text = String::from(
        "credit_code,name,kind,level,ownership,region,address,risk_grade,status,tags\n",
    );
    for n in 0..POOL {
        let code = credit_code(&format!("9115091{n:010}"));
        text +=
            &format!("{code},药店{n},retail_pharmacy,none,private,150602,某某路{n}号,B,active,\n");
    }
    std::fs::write(&file, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_suiji"))
        .args(["import", "institutions", file.to_str().unwrap()])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = create_task(&app, seed_003_task()).await;
    commit_all(&app, &id, &[MI, HEALTH, MR]).await;
    assert_whole(&stored(&url, &id).await, "committed");

    let (seal_kills, _) = kill_during(&app, &id, "seal", "sealed").await;
    reveal_all(&app, &id, &[MI, HEALTH, MR], true).await;
    let (draw_kills, _) = kill_during(&app, &id, "draw", "drawn").await;
    assert!(seal_kills >= 1 && draw_kills >= 1);
    // The drawn task is whole, the chain verifies, and the pool is the whole registry.
    let task = app
        .get(&format!("/api/v1/tasks/{id}"), &app.coordinator(MI))
        .await
        .expect(200);
    assert_eq!(task.body["state"], "drawn");
    assert!(audit_verify(&url));
    app.audit_len().await;
}
