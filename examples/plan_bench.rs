//! An annual plan at scale over the real API (issue 13): seed 001's plan — 3,823 medical
//! institutions (village clinics included) and 689 pharmacies, `coverage: full`, 4
//! quarterly rounds, a sample without teams — and the time of each round's seal and draw
//! (the seal computes the round's counts and excludes every earlier round's draws).
//!
//! ```text
//! cargo run --release --example plan_bench -- sqlite                 # seed 001: 3,823 + 689
//! cargo run --release --example plan_bench -- sqlite 1000000 200000  # national scale
//! cargo run --release --example plan_bench -- postgres://postgres@127.0.0.1:55444/postgres
//! ```
//!
//! The registry is loaded through the store (`records::insert`, with history and audit
//! entries, in large transactions); everything about the plan and its tasks goes over HTTP.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use suiji::auth::{Authenticator, Role};
use suiji::config::Config;
use suiji::domain::registry::InstitutionInput;
use suiji::store::audit::Actor;
use suiji::store::records;

const SECRET: &str = "plan-bench-secret-plan-bench-secret-0123";
const REGIONS: [&str; 3] = ["150602", "150621", "150622"];
const BATCH: usize = 5_000;

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

fn institution(n: usize, medical: usize) -> anyhow::Result<InstitutionInput> {
    let (kind, level) = if n < medical / 4 {
        ("designated_hospital", "primary")
    } else if n < medical {
        ("village_clinic", "none")
    } else {
        ("retail_pharmacy", "none")
    };
    serde_json::from_value(json!({
        "credit_code": credit_code(&format!("9115060{n:010}")),
        "name": format!("机构{n}"), "kind": kind, "level": level, "ownership": "private",
        "region": REGIONS[n % 3], "address": "", "risk_grade": "B", "tags": [],
    }))
    .context("institution document")
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
}

async fn run(database_url: &str, medical: usize, pharmacies: usize) -> anyhow::Result<()> {
    let mut config = Config::with_database(database_url);
    config.jwt_secret = Some(SECRET.into());
    let app = suiji::app::Application::build(&config).await?;
    let base = format!("http://{}/api/v1", app.local_addr());
    let store = app.store().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));

    let actor = Actor {
        sub: "plan-bench".into(),
        role: "admin".into(),
    };
    let total = medical + pharmacies;
    let t = Instant::now();
    let mut n = 0;
    while n < total {
        let mut tx = store.begin().await?;
        for i in n..(n + BATCH).min(total) {
            records::insert(&mut tx, &actor, &institution(i, medical)?).await?;
        }
        n = (n + BATCH).min(total);
        tx.commit().await?;
    }
    println!(
        "load {medical} + {pharmacies} institutions: {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let api = Api {
        base,
        client: reqwest::Client::new(),
        auth: Authenticator::new(SECRET.as_bytes()),
    };
    let mi = "medical_insurance";
    let plan = json!({
        "title": "医保定点医药机构全覆盖检查（规模测试）", "year": 2026, "lead_department": mi,
        "departments": [],
        "groups": [
            {"id": "medical", "name": "定点医疗机构（含村卫生室）",
             "filter": {"kind": ["designated_hospital", "village_clinic"]}, "goal": "full"},
            {"id": "pharmacies", "name": "定点零售药店", "filter": {"kind": ["retail_pharmacy"]}, "goal": "full"}],
        "rounds": [{"start": "2026-01-01", "end": "2026-03-31"}, {"start": "2026-04-01", "end": "2026-06-30"},
                   {"start": "2026-07-01", "end": "2026-09-30"}, {"start": "2026-10-01", "end": "2026-12-31"}],
        "rule": "coverage"});
    let created = api.post(mi, "/plans", Some(plan), 201).await?;
    let id = created["id"].as_str().context("plan id")?.to_string();
    api.post(mi, &format!("/plans/{id}/publish"), None, 200)
        .await?;
    let mut drawn_total = 0;
    for r in 1..=4 {
        let body = json!({"entropy_plan": [{"source": "department:medical_insurance"}],
                          "reveal_deadline": "2099-01-01T00:00:00Z"});
        let task = api
            .post(mi, &format!("/plans/{id}/rounds/{r}/task"), Some(body), 201)
            .await?;
        let t_id = task["id"].as_str().context("task id")?.to_string();
        let secret = hex::decode(secret_of(mi))?;
        let body = json!({"source": "department:medical_insurance",
                          "commitment": hex::encode(Sha256::digest(&secret))});
        api.post(mi, &format!("/tasks/{t_id}/commitments"), Some(body), 201)
            .await?;
        let t = Instant::now();
        api.post(mi, &format!("/tasks/{t_id}/seal"), None, 200)
            .await?;
        let seal = t.elapsed().as_secs_f64();
        let body = json!({"source": "department:medical_insurance", "value": secret_of(mi)});
        api.post(mi, &format!("/tasks/{t_id}/reveals"), Some(body), 201)
            .await?;
        let t = Instant::now();
        let drawn = api
            .post(mi, &format!("/tasks/{t_id}/draw"), None, 200)
            .await?;
        let draw = t.elapsed().as_secs_f64();
        let selections = drawn["selections"].as_array().map_or(0, Vec::len);
        drawn_total += selections;
        println!(
            "round {r}: SEAL {seal:.3} s  DRAW {draw:.3} s  seal + draw {:.3} s  ({selections} drawn)",
            seal + draw
        );
    }
    anyhow::ensure!(drawn_total == total, "drew {drawn_total} of {total}");
    println!("every institution drawn exactly once over 4 rounds: {drawn_total}");
    let _ = stop.send(());
    server.await??;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let db = args.first().map(String::as_str).unwrap_or("sqlite");
    let medical: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(3823);
    let pharmacies: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(689);
    let dir = tempfile::tempdir()?;
    let url = if db == "sqlite" {
        format!("sqlite://{}/plan_bench.db?mode=rwc", dir.path().display())
    } else {
        db.to_string()
    };
    run(&url, medical, pharmacies).await
}
