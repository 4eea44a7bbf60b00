//! The binary killed with SIGKILL in the middle of a 200,000-row import, at several
//! moments: after a restart nothing is half written (no rows, or all of them) and the
//! audit chain verifies. Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.

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
