//! Times the yearly summary (`GET /api/v1/reports/summary` over a year) on N results, on
//! SQLite or PostgreSQL, and reports the process's peak RSS.
//!
//! ```text
//! cargo run --release --example summary_bench -- sqlite:///tmp/summary.db 1000000
//! cargo run --release --example summary_bench -- postgres://postgres@127.0.0.1:55443/summary 1000000
//! ```
//!
//! One task is made over the real API: 1,000 institutions registered, all drawn (teams of
//! 2 + 1 + 1), a result recorded for each (one in four with a problem, money and handling
//! forms) and published. The task, its selections and its results are then copied in bulk
//! with SQL (`INSERT … SELECT`, new task ids) until N results exist: generating a million
//! results one request at a time would take hours and time the writes, not the summary.
//! The database must be empty (a new SQLite file, or a new PostgreSQL database).

use std::time::Instant;

use anyhow::Context;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::{Connection, Row};
use suiji::auth::Authenticator;
use suiji::config::Config;

const SECRET: &str = "summary-bench-secret-summary-bench-secret-01";
const DEPARTMENTS: [(&str, &str, usize); 3] = [
    ("medical_insurance", "YB", 6),
    ("health", "WJ", 3),
    ("market_regulation", "SJ", 3),
];
/// Institutions (and results per task).
const PER_TASK: usize = 1_000;
const REGIONS: [&str; 3] = ["150602", "150621", "150622"];

fn credit_code(prefix17: &str) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [usize; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let sum: usize = prefix17
        .bytes()
        .zip(W)
        .map(|(b, w)| A.iter().position(|&c| c == b).expect("valid character") * w)
        .sum();
    format!("{prefix17}{}", A[(31 - sum % 31) % 31] as char)
}

fn secret_of(department: &str) -> String {
    hex::encode(Sha256::digest(format!("bench secret of {department}")))
}

#[path = "support/api.rs"]
mod api;
use api::Api;

/// The process's peak resident set (VmHWM), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// One task over the API: every institution drawn, a result for each, published.
async fn first_task(api: &Api) -> anyhow::Result<String> {
    let admin = None;
    for n in 0..PER_TASK {
        let kind = if n % 10 == 0 {
            "designated_hospital"
        } else {
            "retail_pharmacy"
        };
        let body = json!({"credit_code": credit_code(&format!("9115060{n:010}")),
            "name": format!("机构{n}"), "kind": kind,
            "level": if kind == "designated_hospital" { "secondary" } else { "none" },
            "ownership": "private", "region": REGIONS[n % 3], "address": "", "risk_grade": "B", "tags": []});
        api.post(admin, "/institutions", body, 201).await?;
    }
    for (dept, prefix, count) in DEPARTMENTS {
        for i in 0..count {
            let body = json!({"department": dept, "name": format!("检查员{prefix}{i}"),
                "certificate_no": format!("{prefix}{i:04}"), "region": REGIONS[i % 3]});
            api.post(admin, "/inspectors", body, 201).await?;
        }
    }
    let mi = Some("medical_insurance");
    let task = json!({"title": "2023年定点医药机构全覆盖检查（基准）", "year": 2023, "round": 1,
     "lead_department": "medical_insurance", "protocol": "suiji-draw/1",
     "departments": [{"code": "medical_insurance", "team_size": 2}, {"code": "health", "team_size": 1},
                     {"code": "market_regulation", "team_size": 1}],
     "strata": [{"id": "all", "filter": {"kind": ["designated_hospital", "retail_pharmacy"]},
                 "ratio": {"num": 1, "den": 1}, "min": 1, "max": null}],
     "cross_region": false, "max_assignments_per_inspector": null,
     "inspection_start": "2023-01-02", "inspection_end": "2023-12-20", "items": [],
     "entropy_plan": [{"source": "department:medical_insurance"}, {"source": "department:health"},
                      {"source": "department:market_regulation"},
                      {"source": "beacon:drand-quicknet", "note": "round 3500000"}]});
    let id = api.post(mi, "/tasks", task, 201).await?["id"]
        .as_str()
        .context("task id")?
        .to_string();
    for (d, _, _) in DEPARTMENTS {
        let secret = hex::decode(secret_of(d))?;
        let body = json!({"source": format!("department:{d}"),
                          "commitment": hex::encode(Sha256::digest(&secret))});
        api.post(Some(d), &format!("/tasks/{id}/commitments"), body, 201)
            .await?;
    }
    api.post(mi, &format!("/tasks/{id}/seal"), Value::Null, 200)
        .await?;
    for (d, _, _) in DEPARTMENTS {
        let body = json!({"source": format!("department:{d}"), "value": secret_of(d)});
        api.post(Some(d), &format!("/tasks/{id}/reveals"), body, 201)
            .await?;
    }
    let body = json!({"source": "beacon:drand-quicknet",
                      "value": hex::encode(Sha256::digest(b"drand round"))});
    api.post(mi, &format!("/tasks/{id}/reveals"), body, 201)
        .await?;
    let drawn = api
        .post(mi, &format!("/tasks/{id}/draw"), Value::Null, 200)
        .await?;
    api.post(mi, &format!("/tasks/{id}/publish"), Value::Null, 200)
        .await?;
    let selections = drawn["selections"].as_array().context("selections")?;
    for (i, s) in selections.iter().enumerate() {
        let inst = s["institution"].as_str().context("institution")?;
        let month = 1 + i % 12;
        let body = if i % 4 == 0 {
            json!({"category": "corrected", "findings": "串换药品，已责令改正",
                "inspection_date": format!("2023-{month:02}-15"), "method": "on_site",
                "amounts": {"fund_recovered_fen": 110_000, "fund_principal_fen": 100_000,
                            "liquidated_damages_fen": 10_000, "penalty_fen": 0, "violations": 3},
                "handling": ["interview", "rectification", "recovery", "liquidated_damages"]})
        } else {
            json!({"category": "no_problem", "inspection_date": format!("2023-{month:02}-15")})
        };
        api.send(
            reqwest::Method::PUT,
            mi,
            &format!("/tasks/{id}/results/{inst}"),
            Some(body),
            201,
        )
        .await?;
    }
    api.post(mi, &format!("/tasks/{id}/results/publish"), json!({}), 200)
        .await?;
    Ok(id)
}

/// The columns of `table`, as the database has them.
async fn columns(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    postgres: bool,
) -> anyhow::Result<Vec<String>> {
    let sql = if postgres {
        format!(
            "SELECT column_name::text AS name FROM information_schema.columns WHERE table_name = '{table}' ORDER BY ordinal_position"
        )
    } else {
        format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid")
    };
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>("name"))
        .collect::<Result<_, _>>()?)
}

/// Copies `table`'s rows of task `from` under task id `$1` (the key column replaced).
async fn copy_sql(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    key: &str,
    postgres: bool,
) -> anyhow::Result<String> {
    let cols = columns(conn, table, postgres).await?;
    let select: Vec<String> = cols
        .iter()
        .map(|c| {
            if c == key {
                "$1".to_string()
            } else if c == "draw_key" {
                "NULL".to_string()
            } else {
                c.clone()
            }
        })
        .collect();
    Ok(format!(
        "INSERT INTO {table} ({}) SELECT {} FROM {table} WHERE {key} = $2",
        cols.join(", "),
        select.join(", ")
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "sqlite:///tmp/summary-bench.db".into());
    let n: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let postgres = url.starts_with("postgres");
    let database = if postgres {
        url.clone()
    } else {
        format!("{url}?mode=rwc")
    };
    let mut config = Config::with_database(&database);
    config.jwt_secret = Some(SECRET.into());
    let app = suiji::app::Application::build(&config).await?;
    let api = Api {
        base: format!("http://{}/api/v1", app.local_addr()),
        client: reqwest::Client::new(),
        auth: std::sync::Arc::new(Authenticator::new(SECRET.as_bytes())),
    };
    tokio::spawn(app.run_until(std::future::pending()));

    let t = Instant::now();
    let first = first_task(&api).await?;
    eprintln!(
        "one task of {PER_TASK} published results over the API in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // Copy it until N results exist.
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&database).await?;
    let copies = n.div_ceil(PER_TASK).saturating_sub(1);
    let t = Instant::now();
    let statements = [
        copy_sql(&mut conn, "tasks", "id", postgres).await?,
        copy_sql(&mut conn, "task_selections", "task_id", postgres).await?,
        copy_sql(&mut conn, "inspection_results", "task_id", postgres).await?,
    ];
    for chunk in (0..copies).collect::<Vec<_>>().chunks(100) {
        let mut tx = conn.begin().await?;
        for _ in chunk {
            let id = uuid::Uuid::now_v7().to_string();
            for sql in &statements {
                sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(&id)
                    .bind(&first)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
    }
    if postgres {
        sqlx::query("ANALYZE").execute(&mut conn).await?;
    }
    let results: i64 = sqlx::query("SELECT COUNT(*) AS n FROM inspection_results")
        .fetch_one(&mut conn)
        .await?
        .try_get("n")?;
    eprintln!(
        "copied to {results} results in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let before = peak_rss_mib();
    for path in [
        "/reports/summary?from=2023-01-01&to=2023-12-31",
        "/reports/summary?from=2023-01-01&to=2023-12-31&group_by=month",
    ] {
        let mut times = Vec::new();
        let mut total = Value::Null;
        for _ in 0..3 {
            let t = Instant::now();
            let s = api
                .send(reqwest::Method::GET, None, path, None, 200)
                .await?;
            times.push(t.elapsed().as_secs_f64());
            total = s["total"]["figures"].clone();
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{} results, {}: median of 3 {:.2} s (min {:.2} s); c2 = {}, c15 = {}",
            results, path, times[1], times[0], total["c2_inspected"], total["c15_recovered_fen"]
        );
    }
    println!(
        "peak RSS: {:.0} MiB after loading, {:.0} MiB after the summaries ({})",
        before.unwrap_or(f64::NAN),
        peak_rss_mib().unwrap_or(f64::NAN),
        if postgres { "PostgreSQL" } else { "SQLite" }
    );
    Ok(())
}
