//! Fills a SQLite database with N published tasks over the real API, then times the
//! publication read model's builds of `results.csv` (first page), `feed.atom` and an
//! institution's history (uncached: each run starts from an empty cache).
//!
//! ```text
//! cargo run --release --example public_bench -- /tmp/public-100.db 100
//! cargo run --release --example public_bench -- /tmp/public-10000.db 10000
//! ```
//!
//! Each task: 1 hospital + 4 pharmacies drawn from 2,000 registered institutions, teams of
//! 2 + 1 + 1, the list published, results recorded and published for 2 of the 5. The
//! database stays behind for `scripts/bench-public` (wrk against `suiji serve`). With an
//! existing database it only adds tasks up to N and times again.

use std::time::Instant;

use anyhow::Context;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use suiji::auth::Authenticator;
use suiji::config::Config;
use suiji::publication::Publication;

const SECRET: &str = "public-bench-secret-public-bench-secret-0123";
const DEPARTMENTS: [(&str, &str, usize); 3] = [
    ("medical_insurance", "YB", 6),
    ("health", "WJ", 3),
    ("market_regulation", "SJ", 3),
];
const INSTITUTIONS: u32 = 2_000;
const REGIONS: [&str; 3] = ["150602", "150621", "150622"];
/// Tasks built at the same time (SQLite still runs the writes one by one).
const PARALLEL: usize = 8;

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

fn task(n: usize) -> Value {
    json!({"title": format!("2023年定点医药机构双随机联合抽查（第{n}批）"), "year": 2023, "round": 2,
     "lead_department": "medical_insurance",
     "departments": [{"code": "medical_insurance", "team_size": 2}, {"code": "health", "team_size": 1},
                     {"code": "market_regulation", "team_size": 1}],
     "strata": [{"id": "designated_hospitals", "filter": {"kind": ["designated_hospital"]},
                 "ratio": {"num": 5, "den": 100}, "min": 1, "max": 1},
                {"id": "retail_pharmacies", "filter": {"kind": ["retail_pharmacy"], "region_prefix": ["1506"]},
                 "ratio": {"num": 5, "den": 100}, "min": 1, "max": 4}],
     "cross_region": false, "max_assignments_per_inspector": null,
     "inspection_start": "2023-08-01", "inspection_end": "2023-08-31", "items": [], "protocol": "suiji-draw/1",
     "entropy_plan": [{"source": "department:medical_insurance"}, {"source": "department:health"},
                      {"source": "department:market_regulation"},
                      {"source": "beacon:drand-quicknet", "note": "round 3500000"}]})
}

/// One task from creation to published results, over the API.
async fn published_task(api: &Api, n: usize) -> anyhow::Result<()> {
    let mi = Some("medical_insurance");
    let id = api.post(mi, "/tasks", task(n), 201).await?["id"]
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
    let beacon = hex::encode(Sha256::digest(format!("drand round {n}")));
    let body = json!({"source": "beacon:drand-quicknet", "value": beacon});
    api.post(mi, &format!("/tasks/{id}/reveals"), body, 201)
        .await?;
    let drawn = api
        .post(mi, &format!("/tasks/{id}/draw"), Value::Null, 200)
        .await?;
    api.post(mi, &format!("/tasks/{id}/publish"), Value::Null, 200)
        .await?;
    let selections = drawn["selections"].as_array().context("selections")?;
    for s in selections.iter().take(2) {
        let inst = s["institution"].as_str().context("institution")?;
        let body = json!({"category": "corrected", "findings": "串换药品3笔，已责令改正",
            "inspection_date": "2023-08-15",
            "amounts": {"fund_recovered_fen": 123456, "penalty_fen": 0, "violations": 3}});
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
    Ok(())
}

/// The median of `runs` timings of `f`, in milliseconds.
async fn median_ms<F, Fut, T>(runs: usize, mut f: F) -> anyhow::Result<f64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f().await?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[runs / 2])
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "public-bench.db".into());
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(100);
    let mut config = Config::with_database(&format!("sqlite://{path}?mode=rwc"));
    config.jwt_secret = Some(SECRET.into());
    let app = suiji::app::Application::build(&config).await?;
    let store = app.store().clone();
    let api = Api {
        base: format!("http://{}/api/v1", app.local_addr()),
        client: reqwest::Client::new(),
        auth: std::sync::Arc::new(Authenticator::new(SECRET.as_bytes())),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));

    let publication = || async {
        let calendar = suiji::app::load_calendar(&store).await?;
        anyhow::Ok(Publication::new(
            store.clone(),
            std::sync::Arc::new(std::sync::RwLock::new(calendar)),
            "http://127.0.0.1:8080".into(),
        ))
    };
    let existing = publication()
        .await?
        .list(&suiji::publication::ListQuery {
            limit: Some(1),
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut have = 0usize;
    if existing.items.is_empty() {
        let t = Instant::now();
        for i in 0..INSTITUTIONS {
            let kind = if i < 40 {
                "designated_hospital"
            } else {
                "retail_pharmacy"
            };
            let body = json!({"credit_code": credit_code(&format!("9115060{i:010}")),
                "name": format!("机构{i}"), "kind": kind,
                "level": if i < 40 { "secondary" } else { "none" }, "ownership": "private",
                "region": REGIONS[i as usize % 3], "address": "", "risk_grade": "B", "tags": []});
            api.post(None, "/institutions", body, 201).await?;
        }
        for (d, prefix, count) in DEPARTMENTS {
            for i in 0..count {
                let body = json!({"department": d, "name": format!("检查员{prefix}{i:04}"),
                    "certificate_no": format!("{prefix}{i:04}"), "region": REGIONS[i % 3]});
                api.post(None, "/inspectors", body, 201).await?;
            }
        }
        println!("registries: {:.1} s", t.elapsed().as_secs_f64());
    } else {
        let mut q = suiji::publication::ListQuery {
            limit: Some(500),
            ..Default::default()
        };
        let p = publication().await?;
        loop {
            let page = p.list(&q).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            have += page.items.len();
            match page.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => break,
            }
        }
    }
    if have < n {
        let t = Instant::now();
        let mut next = have;
        let mut running = tokio::task::JoinSet::new();
        while next < n || !running.is_empty() {
            while next < n && running.len() < PARALLEL {
                let api = api.clone();
                running.spawn(async move { published_task(&api, next).await });
                next += 1;
            }
            if let Some(done) = running.join_next().await {
                done??;
            }
        }
        println!(
            "{} published tasks built over the API in {:.1} s",
            n - have,
            t.elapsed().as_secs_f64()
        );
    }
    // An institution drawn in the newest task, for the history.
    let p = publication().await?;
    let newest = p
        .list(&suiji::publication::ListQuery {
            limit: Some(1),
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let task_id = newest
        .items
        .first()
        .context("no published task")?
        .id
        .clone();
    let view = p
        .task(&task_id)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .context("published task")?;
    // A pharmacy (4 of about 1,960 per task), not the hospital (1 of 40).
    let inst = view
        .selections
        .last()
        .context("selections")?
        .institution
        .id
        .clone();
    let runs = 21;
    let csv = median_ms(runs, || async {
        let p = publication().await?;
        p.results_csv(&None, None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
    })
    .await?;
    let feed = median_ms(runs, || async {
        let p = publication().await?;
        p.feed().await.map_err(|e| anyhow::anyhow!("{e}"))
    })
    .await?;
    let inspections = std::cell::Cell::new(0);
    let history = median_ms(runs, || async {
        let p = publication().await?;
        let h = p
            .history(&inst)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .context("history")?;
        inspections.set(h.inspections.len());
        anyhow::Ok(())
    })
    .await?;
    println!("published tasks: {}", have.max(n));
    println!(
        "results.csv first page (up to 1,000 rows; 2 results per task), uncached build: {csv:.2} ms (median of {runs})"
    );
    println!("feed.atom (100 entries), uncached build: {feed:.2} ms (median of {runs})");
    println!(
        "history of {inst} ({} inspections), uncached build: {history:.2} ms (median of {runs})",
        inspections.get()
    );
    println!("TASK_ID={task_id}");
    println!("INSTITUTION_ID={inst}");
    // Stopping the service closes the store.
    let _ = stop.send(());
    server.await??;
    Ok(())
}
