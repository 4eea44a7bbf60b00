//! A bill list at scale over the real API (issue 14): generate `N` settlement bills as CSV
//! (streamed to a temporary file), upload them (`POST /api/v1/lists`, streamed from the file),
//! then a 200-bill sample (a fixed count over the whole list) and a nested sample (10 bills
//! of each of 门慢 and 门特 in each of 10 institutions, at most 2 per disease), each sealed
//! and drawn, with the time of each step. Lists above 100,000 bills are sampled in the
//! tree form (B.18). Peak memory: run under `/usr/bin/time -v`.
//!
//! ```text
//! cargo run --release --example list_bench -- 10000000          # SQLite in a temp dir
//! /usr/bin/time -v target/release/examples/list_bench 1000000
//! ```

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use suiji::auth::{Authenticator, Role};
use suiji::config::Config;

const SECRET: &str = "list-bench-secret-list-bench-secret-0123";
const CATEGORIES: [&str; 5] = ["门慢", "门特", "国谈药", "双通道", "普通门诊"];

struct Api {
    base: String,
    client: reqwest::Client,
    token: String,
}

impl Api {
    async fn post(&self, path: &str, body: Value, status: u16) -> anyhow::Result<Value> {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await?;
        let got = r.status().as_u16();
        let text = r.text().await?;
        if got != status {
            bail!("POST {path}: expected {status}, got {got}: {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn secret() -> String {
    hex::encode(Sha256::digest(b"list bench secret"))
}

/// Commits, seals, reveals and draws `task`; prints the seal and draw times.
async fn seal_and_draw(api: &Api, task: &str, label: &str) -> anyhow::Result<()> {
    let s = hex::decode(secret())?;
    api.post(
        &format!("/tasks/{task}/commitments"),
        json!({"source": "department:medical_insurance", "commitment": hex::encode(Sha256::digest(&s))}),
        201,
    )
    .await?;
    let t = Instant::now();
    api.post(&format!("/tasks/{task}/seal"), Value::Null, 200)
        .await?;
    let seal = t.elapsed().as_secs_f64();
    api.post(
        &format!("/tasks/{task}/reveals"),
        json!({"source": "department:medical_insurance", "value": secret()}),
        201,
    )
    .await?;
    let t = Instant::now();
    let drawn = api
        .post(&format!("/tasks/{task}/draw"), Value::Null, 200)
        .await?;
    let draw = t.elapsed().as_secs_f64();
    let n = drawn["selections"].as_array().map_or(0, Vec::len);
    println!(
        "{label}: SEAL {seal:.2} s  DRAW {draw:.2} s  seal + draw {:.2} s  ({n} drawn)",
        seal + draw
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let csv = dir.path().join("bills.csv");
    let t = Instant::now();
    {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&csv)?);
        writeln!(
            out,
            "bill_id,category,institution,disease,amount_fen,settled"
        )?;
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            writeln!(
                out,
                "JS2025{i:010},{},I{:03},D{:02},{},2025-{:02}-{:02}",
                CATEGORIES[(x % 5) as usize],
                (x >> 8) % 300,
                (x >> 20) % 40,
                500 + (x >> 32) % 900_000,
                1 + (x >> 40) % 12,
                1 + (x >> 48) % 28
            )?;
        }
        out.flush()?;
    }
    let size = std::fs::metadata(&csv)?.len();
    println!(
        "generated {n} bills ({:.0} MB) in {:.1} s",
        size as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let mut config = Config::with_database(&format!(
        "sqlite://{}/bench.db?mode=rwc",
        dir.path().display()
    ));
    config.jwt_secret = Some(SECRET.into());
    config.import_limit = usize::MAX;
    let app = suiji::app::Application::build(&config).await?;
    let base = format!("http://{}/api/v1", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let auth = Authenticator::new(SECRET.as_bytes());
    let api = Api {
        base,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(24 * 3600))
            .build()?,
        token: auth.mint(
            "coord-medical_insurance",
            Role::Coordinator,
            Some("medical_insurance"),
            Duration::from_secs(24 * 3600),
        )?,
    };

    let t = Instant::now();
    let file = tokio::fs::File::open(&csv).await?;
    let body = reqwest::Body::wrap_stream(tokio_util_stream(file));
    let r = api
        .client
        .post(format!(
            "{}/lists?name=bills&id_column=bill_id&columns=category:text,institution:text,disease:text,amount_fen:integer,settled:date",
            api.base
        ))
        .bearer_auth(&api.token)
        .header("content-type", "text/csv")
        .header("content-length", size)
        .body(body)
        .send()
        .await?;
    let status = r.status();
    let listed: Value = serde_json::from_str(&r.text().await?)?;
    if status != 201 {
        bail!("upload: {status} {listed}");
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "UPLOAD {n} rows: {secs:.1} s ({:.0} rows/s), sha256 {}",
        n as f64 / secs,
        listed["sha256"].as_str().unwrap_or("")
    );
    let list = listed["id"].as_str().context("list id")?.to_string();

    let task = |title: &str, strata: Value| {
        json!({"title": title, "year": 2026, "round": 1, "lead_department": "medical_insurance",
            "departments": [], "list": list, "strata": strata,
            "inspection_start": "2026-03-02", "inspection_end": "2026-12-24",
            "reveal_deadline": "2099-01-01T00:00:00Z",
            "entropy_plan": [{"source": "department:medical_insurance"}]})
    };
    let t200 = api
        .post(
            "/tasks",
            task(
                "200 bills",
                json!([{"id": "bills", "records": {}, "ratio": {"num": 0, "den": 1}, "min": 200, "max": 200}]),
            ),
            201,
        )
        .await?;
    seal_and_draw(&api, t200["id"].as_str().context("id")?, "200 bills").await?;
    // Nested (B.16): in each of 10 institutions, 10 bills of each of 门慢 and 门特, at most
    // 2 per disease.
    let institutions: Vec<String> = (0..10).map(|i| format!("I{i:03}")).collect();
    let strata: Vec<Value> = CATEGORIES[..2]
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({"id": format!("n{i}"), "records": {"category": [c], "institution": institutions},
                   "group_by": "institution", "cap": {"column": "disease", "max": 2},
                   "ratio": {"num": 0, "den": 1}, "min": 10, "max": 10})
        })
        .collect();
    let tnested = api
        .post(
            "/tasks",
            task(
                "nested: 10 per category in 10 institutions",
                Value::Array(strata),
            ),
            201,
        )
        .await?;
    seal_and_draw(
        &api,
        tnested["id"].as_str().context("id")?,
        "nested 10 x 2 x 10, at most 2 per disease",
    )
    .await?;
    let _ = stop.send(());
    server.await??;
    Ok(())
}

/// The file as a stream of chunks (never read whole).
fn tokio_util_stream(
    file: tokio::fs::File,
) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> {
    futures_util::stream::unfold(file, |mut f| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 1 << 20];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(k) => {
                buf.truncate(k);
                Some((Ok(buf), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    })
}
