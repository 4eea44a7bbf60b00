//! Joint task at scale over the real API: 100,000 active institutions and 3 × 1,000
//! inspectors (sparse conflicts), a seed-003-like task (three strata at 5 %, teams of
//! 2 + 1 + 1), then timings of seal, reveals, draw, bundle download and offline verification.
//!
//! ```text
//! cargo run --release --example task_bench -- sqlite
//! cargo run --release --example task_bench -- postgres://postgres@127.0.0.1:55450/postgres
//! cargo run --release --example task_bench -- sqlite 20000 300    # smaller run
//! ```
//!
//! The service runs in-process on a free port with a fresh database: a SQLite file in a temp
//! dir, or a new database `suiji_bench_…` on the given PostgreSQL server (dropped at the
//! end). The registries are loaded through the store (`records::insert`, the same path as
//! the API with history and audit entries, in large transactions) rather than by 100,000
//! HTTP calls; everything about the task goes over HTTP.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::Connection;
use suiji::auth::{Authenticator, Role};
use suiji::config::Config;
use suiji::domain::registry::{InspectorInput, InstitutionInput};
use suiji::draw::Bundle;
use suiji::store::audit::Actor;
use suiji::store::{Store, records};

const SECRET: &str = "task-bench-secret-task-bench-secret-0123";
const DEPARTMENTS: [(&str, &str); 3] = [
    ("medical_insurance", "YB"),
    ("health", "WJ"),
    ("market_regulation", "SJ"),
];
/// Four counties of Ordos (1506) and two districts of Baotou (1502).
const REGIONS: [&str; 6] = ["150602", "150621", "150622", "150623", "150202", "150203"];
const BATCH: usize = 5_000;

/// A small deterministic generator (SplitMix64), so every run loads the same registries.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// GB 32100 credit code for a 17-character prefix.
fn credit_code(prefix17: &str) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [usize; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let sum: usize = prefix17
        .bytes()
        .zip(W)
        .map(|(c, w)| A.iter().position(|&a| a == c).expect("credit alphabet") * w)
        .sum();
    format!("{prefix17}{}", A[(31 - sum % 31) % 31] as char)
}

fn institution(n: usize, rng: &mut Rng) -> anyhow::Result<InstitutionInput> {
    // 8 % hospitals, 60 % pharmacies, 27 % village clinics, 5 % other.
    let (kind, level) = match n % 100 {
        0..8 => (
            "designated_hospital",
            ["tertiary", "secondary", "primary", "community"][rng.below(4)],
        ),
        8..68 => ("retail_pharmacy", "none"),
        68..95 => ("village_clinic", "none"),
        _ => ("other", "none"),
    };
    let risk_grade = ["A", "B", "B", "C", "D"][rng.below(5)];
    let doc = json!({
        "credit_code": credit_code(&format!("9115060{n:010}")),
        "name": format!("机构{n}"),
        "kind": kind,
        "level": level,
        "ownership": if rng.below(3) == 0 { "public" } else { "private" },
        "region": REGIONS[rng.below(REGIONS.len())],
        "address": "",
        "risk_grade": risk_grade,
        "tags": if rng.below(10) == 0 { vec!["医共体"] } else { vec![] },
    });
    serde_json::from_value(doc).context("institution document")
}

fn inspector(
    department: &str,
    cert: String,
    rng: &mut Rng,
    institutions: &[String],
) -> anyhow::Result<InspectorInput> {
    // About one inspector in ten declares one to three conflicts (回避).
    let conflicts: Vec<Value> = if rng.below(10) == 0 {
        (0..1 + rng.below(3))
            .map(|_| json!({"institution": institutions[rng.below(institutions.len())], "reason": "亲属关系"}))
            .collect()
    } else {
        Vec::new()
    };
    let doc = json!({
        "department": department,
        "name": format!("检查员{cert}"),
        "certificate_no": cert,
        "region": REGIONS[rng.below(REGIONS.len())],
        "conflicts": conflicts,
    });
    serde_json::from_value(doc).context("inspector document")
}

async fn load(
    store: &Store,
    institutions: usize,
    per_department: usize,
) -> anyhow::Result<Vec<String>> {
    let actor = Actor {
        sub: "task-bench".into(),
        role: "admin".into(),
    };
    let mut rng = Rng(2026);
    let mut ids = Vec::with_capacity(institutions);
    let t = Instant::now();
    while ids.len() < institutions {
        let mut tx = store.begin().await?;
        for n in ids.len()..(ids.len() + BATCH).min(institutions) {
            let doc = institution(n, &mut rng)?;
            ids.push(records::insert(&mut tx, &actor, &doc).await?.id);
        }
        tx.commit().await?;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "load {institutions} institutions: {secs:.1} s ({:.0}/s)",
        institutions as f64 / secs
    );
    let t = Instant::now();
    let mut tx = store.begin().await?;
    for (department, prefix) in DEPARTMENTS {
        for i in 0..per_department {
            let doc = inspector(department, format!("{prefix}{i:06}"), &mut rng, &ids)?;
            records::insert(&mut tx, &actor, &doc).await?;
        }
    }
    tx.commit().await?;
    println!(
        "load 3 × {per_department} inspectors: {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(ids)
}

fn stratum(id: &str, filter: Value) -> Value {
    json!({"id": id, "filter": filter, "ratio": {"num": 5, "den": 100}, "min": 1, "max": null})
}

fn task() -> Value {
    json!({"title": "2026年定点医药机构跨部门双随机联合抽查（规模测试）", "year": 2026, "round": 1,
     "lead_department": "medical_insurance",
     "departments": [{"code": "medical_insurance", "team_size": 2}, {"code": "health", "team_size": 1},
                     {"code": "market_regulation", "team_size": 1}],
     "strata": [stratum("designated_hospitals", json!({"kind": ["designated_hospital"]})),
                stratum("retail_pharmacies", json!({"kind": ["retail_pharmacy"], "region_prefix": ["1506"]})),
                stratum("village_clinics", json!({"kind": ["village_clinic", "other"]}))],
     "cross_region": false, "max_assignments_per_inspector": null,
     "inspection_start": "2026-08-03", "inspection_end": "2026-08-31", "items": [], "protocol": "suiji-draw/1",
     "entropy_plan": [{"source": "department:medical_insurance"}, {"source": "department:health"},
                      {"source": "department:market_regulation"},
                      {"source": "beacon:drand-quicknet", "note": "round 20000000"}]})
}

fn secret_of(department: &str) -> String {
    hex::encode(Sha256::digest(format!("bench secret of {department}")))
}

struct Api {
    base: String,
    client: reqwest::Client,
    auth: Authenticator,
}

impl Api {
    fn coordinator(&self, department: &str) -> anyhow::Result<String> {
        self.auth.mint(
            &format!("coord-{department}"),
            Role::Coordinator,
            Some(department),
            Duration::from_secs(3600),
        )
    }

    /// POSTs as the coordinator of `department`, expects `status`, returns the body.
    async fn post(
        &self,
        department: &str,
        path: &str,
        body: Option<Value>,
        status: u16,
    ) -> anyhow::Result<Value> {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(self.coordinator(department)?);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let got = resp.status().as_u16();
        let text = resp.text().await?;
        if got != status {
            let head: String = text.chars().take(2000).collect();
            bail!("POST {path}: expected {status}, got {got}: {head}");
        }
        Ok(serde_json::from_str(&text)?)
    }

    async fn get_bytes(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(self.coordinator("health")?)
            .send()
            .await?;
        if !resp.status().is_success() {
            bail!("GET {path}: {}", resp.status());
        }
        Ok(resp.bytes().await?.to_vec())
    }
}

/// Runs `f` and prints how long it took.
async fn timed<T>(
    what: &str,
    f: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let t = Instant::now();
    let out = f.await.with_context(|| what.to_string())?;
    println!("{what}: {:.3} s", t.elapsed().as_secs_f64());
    Ok(out)
}

async fn run(database_url: &str, institutions: usize, per_department: usize) -> anyhow::Result<()> {
    let mut config = Config::with_database(database_url);
    config.jwt_secret = Some(SECRET.into());
    let app = suiji::app::Application::build(&config).await?;
    let base = format!("http://{}/api/v1", app.local_addr());
    let store = app.store().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));

    load(&store, institutions, per_department).await?;

    let api = Api {
        base,
        client: reqwest::Client::new(),
        auth: Authenticator::new(SECRET.as_bytes()),
    };
    let mi = "medical_insurance";
    let created = timed("create task", api.post(mi, "/tasks", Some(task()), 201)).await?;
    let id = created["id"].as_str().context("task id")?.to_string();
    timed("commitments (3)", async {
        for (d, _) in DEPARTMENTS {
            let secret = hex::decode(secret_of(d))?;
            let body = json!({"source": format!("department:{d}"),
                              "commitment": hex::encode(Sha256::digest(&secret))});
            api.post(d, &format!("/tasks/{id}/commitments"), Some(body), 201)
                .await?;
        }
        Ok(())
    })
    .await?;

    let t = Instant::now();
    let sealed = api
        .post(mi, &format!("/tasks/{id}/seal"), None, 200)
        .await?;
    let seal = t.elapsed().as_secs_f64();
    println!(
        "SEAL: {seal:.3} s  pool_hash {}",
        sealed["pool_hash"].as_str().unwrap_or("?")
    );

    timed("reveals (3 departments + beacon)", async {
        for (d, _) in DEPARTMENTS {
            let body = json!({"source": format!("department:{d}"), "value": secret_of(d)});
            api.post(d, &format!("/tasks/{id}/reveals"), Some(body), 201)
                .await?;
        }
        let beacon = hex::encode(Sha256::digest("drand quicknet round 20000000"));
        let body = json!({"source": "beacon:drand-quicknet", "value": beacon});
        api.post(mi, &format!("/tasks/{id}/reveals"), Some(body), 201)
            .await?;
        Ok(())
    })
    .await?;

    let t = Instant::now();
    let drawn = api
        .post(mi, &format!("/tasks/{id}/draw"), None, 200)
        .await?;
    let draw = t.elapsed().as_secs_f64();
    let selections = drawn["selections"].as_array().map_or(0, Vec::len);
    println!(
        "DRAW: {draw:.3} s  ({selections} selections, seed {})",
        drawn["seed"].as_str().unwrap_or("?")
    );
    println!("seal + draw: {:.3} s", seal + draw);

    let bytes = timed(
        "bundle download",
        api.get_bytes(&format!("/tasks/{id}/bundle")),
    )
    .await?;
    println!("bundle size: {:.1} MB", bytes.len() as f64 / 1e6);
    let verified = timed("bundle verification (parse + suiji::draw::verify)", async {
        let bundle: Bundle = serde_json::from_slice(&bytes)?;
        suiji::draw::verify(&bundle).map_err(|m| anyhow::anyhow!("bundle mismatch: {m}"))
    })
    .await?;
    anyhow::ensure!(
        verified.selections == selections,
        "bundle has {} selections, the task {selections}",
        verified.selections
    );

    let _ = stop.send(());
    server.await??;
    store.close().await;
    Ok(())
}

/// A new empty database on the server named by `url`, and its URL.
async fn create_pg_database(url: &str) -> anyhow::Result<(String, String)> {
    sqlx::any::install_default_drivers();
    let name = format!("suiji_bench_{}", uuid::Uuid::now_v7().simple());
    let mut conn = sqlx::AnyConnection::connect(url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let (server, _) = url.rsplit_once('/').context("the URL names a database")?;
    Ok((name.clone(), format!("{server}/{name}")))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let target = args
        .next()
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .unwrap_or_else(|| "sqlite".into());
    let number = |a: Option<String>, default: usize| -> anyhow::Result<usize> {
        a.map_or(Ok(default), |s| {
            s.replace('_', "").parse().context("counts must be numbers")
        })
    };
    let institutions = number(args.next(), 100_000)?;
    let per_department = number(args.next(), 1_000)?;

    if target.starts_with("postgres") {
        let (name, url) = create_pg_database(&target).await?;
        println!("backend: PostgreSQL, fresh database {name}");
        let outcome = run(&url, institutions, per_department).await;
        let mut conn = sqlx::AnyConnection::connect(&target).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
            .execute(&mut conn)
            .await?;
        outcome
    } else if target == "sqlite" {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
        println!("backend: SQLite, {}", dir.path().join("bench.db").display());
        run(&url, institutions, per_department).await
    } else {
        bail!(
            "usage: task_bench [sqlite | postgres://user@host:port/db] [institutions] [inspectors per department]"
        )
    }
}
