//! Test helpers: each test gets its own service on a free port and its own database
//! (a SQLite file in a temp dir, or a fresh PostgreSQL database when `TEST_DATABASE_URL`
//! names a server), and talks to it over real HTTP.

use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::Connection;
use suiji::auth::{Authenticator, Role};
use suiji::config::Config;

pub const SECRET: &str = "test-secret-test-secret-test-secret-0123";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub database_url: String,
    auth: Authenticator,
    /// False for a second node on another app's database: only the owner drops it.
    owns_database: bool,
    _dir: tempfile::TempDir,
}

/// The answer to a request: status, headers and JSON body (Null when empty or not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Checks a problem document and that it names `field` among its errors.
    #[track_caller]
    pub fn expect_problem_field(self, status: u16, field: &str) -> Self {
        let r = self.expect(status);
        assert_eq!(
            r.headers["content-type"], "application/problem+json",
            "{}",
            r.text
        );
        let names: Vec<&str> = r.body["errors"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["field"].as_str()).collect())
            .unwrap_or_default();
        assert!(
            names.contains(&field),
            "expected field {field} in {}",
            r.text
        );
        r
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// Drops a test's PostgreSQL database when the test ends (its server still holds
/// connections, hence `WITH (FORCE)`, PostgreSQL 13+). Runs on its own thread and runtime
/// because `Drop` cannot await.
impl Drop for TestApp {
    fn drop(&mut self) {
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            return;
        };
        if !self.owns_database || !self.database_url.starts_with("postgres") {
            return;
        }
        let Some((_, name)) = self.database_url.rsplit_once('/') else {
            return;
        };
        let name = name.to_string();
        let dropper = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to drop the test database");
            rt.block_on(async move {
                let mut conn = sqlx::AnyConnection::connect(&admin_url).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await?;
                conn.close().await
            })
        });
        if let Ok(Err(e)) = dropper.join() {
            eprintln!("could not drop the test database: {e}");
        }
    }
}

async fn fresh_database(dir: &std::path::Path) -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            sqlx::any::install_default_drivers();
            let name = format!("suiji_test_{}", uuid::Uuid::now_v7().simple());
            let mut conn = sqlx::AnyConnection::connect(&url)
                .await
                .expect("TEST_DATABASE_URL reachable");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("create test database");
            conn.close().await.ok();
            let (base, _) = url.rsplit_once('/').expect("URL has a database");
            format!("{base}/{name}")
        }
        _ => format!("sqlite://{}/suiji.db?mode=rwc", dir.display()),
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A service with settings changed by `configure`.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database(dir.path()).await;
    let mut config = Config::with_database(&database_url);
    config.jwt_secret = Some(SECRET.into());
    configure(&mut config);
    let app = suiji::app::Application::build(&config)
        .await
        .expect("service builds");
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        base,
        client: reqwest::Client::new(),
        database_url,
        auth: Authenticator::new(SECRET.as_bytes()),
        owns_database: true,
        _dir: dir,
    }
}

impl TestApp {
    pub fn token(&self, role: Role, sub: &str, department: Option<&str>) -> String {
        self.auth
            .mint(sub, role, department, std::time::Duration::from_secs(3600))
            .unwrap()
    }
    pub fn admin(&self) -> String {
        self.token(Role::Admin, "admin", None)
    }
    pub fn auditor(&self) -> String {
        self.token(Role::Auditor, "auditor", None)
    }
    /// A coordinator of `department` acting for the organization `org` (`org` claim).
    pub fn coordinator_in(&self, department: &str, org: &str) -> String {
        self.auth
            .mint_for(
                &format!("coord-{org}"),
                Role::Coordinator,
                Some(department),
                Some(org),
                std::time::Duration::from_secs(3600),
            )
            .unwrap()
    }
    pub fn coordinator(&self, department: &str) -> String {
        self.token(
            Role::Coordinator,
            &format!("coord-{department}"),
            Some(department),
        )
    }

    /// Sends a request; `body` is sent as JSON when present.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(serde_json::to_vec(b).unwrap());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    /// Sends a file as the request body with the given content type.
    pub async fn upload(
        &self,
        path: &str,
        token: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request sent");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    /// Downloads raw bytes, expecting 200.
    pub async fn download(&self, path: &str, token: &str) -> (HeaderMap, Vec<u8>) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent");
        assert_eq!(resp.status(), 200, "GET {path}");
        let headers = resp.headers().clone();
        (headers, resp.bytes().await.unwrap().to_vec())
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(Method::GET, path, Some(token), None, &[]).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(token), Some(&body), &[])
            .await
    }
    pub async fn put(&self, path: &str, token: &str, version: i64, body: Value) -> Reply {
        let v = format!("\"{version}\"");
        self.send(
            Method::PUT,
            path,
            Some(token),
            Some(&body),
            &[("if-match", v.as_str())],
        )
        .await
    }

    /// Registers an institution and returns its id.
    pub async fn institution(&self, body: Value) -> String {
        let r = self
            .post("/api/v1/institutions", &self.admin(), body)
            .await
            .expect(201);
        r.body["id"].as_str().unwrap().to_string()
    }

    pub async fn inspector(&self, body: Value) -> String {
        let r = self
            .post("/api/v1/inspectors", &self.admin(), body)
            .await
            .expect(201);
        r.body["id"].as_str().unwrap().to_string()
    }

    /// The number of audit entries so far.
    pub async fn audit_len(&self) -> usize {
        let r = self
            .get("/api/v1/audit-log/verify", &self.auditor())
            .await
            .expect(200);
        assert_eq!(r.body["ok"], true, "{}", r.text);
        r.body["entries"].as_u64().unwrap() as usize
    }
}

/// Computes the GB 32100 check character for a 17-character prefix.
pub fn credit_code(prefix17: &str) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [usize; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let sum: usize = prefix17
        .bytes()
        .zip(W)
        .map(|(c, w)| A.iter().position(|&a| a == c).unwrap() * w)
        .sum();
    let check = A[(31 - sum % 31) % 31] as char;
    format!("{prefix17}{check}")
}

/// A valid institution document with the `n`-th synthetic credit code.
pub fn institution_body(n: u32, kind: &str, region: &str) -> Value {
    json!({
        "credit_code": credit_code(&format!("9115060{n:010}")),
        "name": format!("机构{n}"),
        "kind": kind,
        "level": if kind == "designated_hospital" { "secondary" } else { "none" },
        "ownership": "private",
        "region": region,
        "address": "",
        "risk_grade": "B",
        "tags": [],
    })
}

pub fn inspector_body(department: &str, cert: &str, region: &str) -> Value {
    json!({
        "department": department,
        "name": format!("检查员{cert}"),
        "certificate_no": cert,
        "region": region,
    })
}

// ---- the seed 003 scenario ----

pub const MI: &str = "medical_insurance";
pub const HEALTH: &str = "health";
pub const MR: &str = "market_regulation";

/// The seed 003 county: 7 designated hospitals and 72 retail pharmacies in 1506xx,
/// 6 medical insurance, 3 health and 3 market regulation inspectors.
pub struct County {
    pub hospitals: Vec<String>,
    pub pharmacies: Vec<String>,
}

pub async fn seed_003_county(app: &TestApp) -> County {
    let mut hospitals = Vec::new();
    let mut pharmacies = Vec::new();
    for n in 0..79u32 {
        let kind = if n < 7 {
            "designated_hospital"
        } else {
            "retail_pharmacy"
        };
        let region = ["150602", "150621", "150622"][n as usize % 3];
        let id = app.institution(institution_body(n, kind, region)).await;
        if n < 7 {
            hospitals.push(id)
        } else {
            pharmacies.push(id)
        }
    }
    for (dept, count, prefix) in [(MI, 6, "YB"), (HEALTH, 3, "WJ"), (MR, 3, "SJ")] {
        for i in 0..count {
            let region = ["150602", "150621", "150622"][i % 3];
            app.inspector(inspector_body(dept, &format!("{prefix}{i:04}"), region))
                .await;
        }
    }
    County {
        hospitals,
        pharmacies,
    }
}

/// The seed 003 task, exactly as the issue gives it: a suiji-draw/1 task (its golden
/// bundle is /1, and /1 tasks keep working).
pub fn seed_003_task() -> Value {
    json!({"title": "2023年定点医药机构跨部门双随机联合抽查", "year": 2023, "round": 2,
     "protocol": "suiji-draw/1",
     "lead_department": "medical_insurance",
     "departments": [{"code": "medical_insurance", "team_size": 2}, {"code": "health", "team_size": 1},
                     {"code": "market_regulation", "team_size": 1}],
     "strata": [{"id": "designated_hospitals", "filter": {"kind": ["designated_hospital"]},
                 "ratio": {"num": 5, "den": 100}, "min": 1, "max": null},
                {"id": "retail_pharmacies", "filter": {"kind": ["retail_pharmacy"], "region_prefix": ["1506"]},
                 "ratio": {"num": 5, "den": 100}, "min": 1, "max": null}],
     "cross_region": false, "max_assignments_per_inspector": null,
     "inspection_start": "2023-08-01", "inspection_end": "2023-08-31", "items": [],
     "entropy_plan": [{"source": "department:medical_insurance"}, {"source": "department:health"},
                      {"source": "department:market_regulation"},
                      {"source": "beacon:drand-quicknet", "note": "round 3500000"}]})
}

pub fn secret(dept: &str) -> String {
    hex::encode(Sha256::digest(format!("secret of {dept}").as_bytes()))
}

pub fn commitment(dept: &str) -> String {
    hex::encode(Sha256::digest(hex::decode(secret(dept)).unwrap()))
}

pub const BEACON: &str = "fe2ed2099f8bbc53ebfd7b9788ff3172c2ba2409849ba91b1372790d7b7f2e39";

pub async fn create_task(app: &TestApp, body: Value) -> String {
    let r = app
        .post("/api/v1/tasks", &app.coordinator(MI), body)
        .await
        .expect(201);
    assert_eq!(r.body["state"], "draft");
    r.body["id"].as_str().unwrap().to_string()
}

pub async fn commit_all(app: &TestApp, id: &str, depts: &[&str]) {
    for d in depts {
        app.post(
            &format!("/api/v1/tasks/{id}/commitments"),
            &app.coordinator(d),
            json!({"source": format!("department:{d}"), "commitment": commitment(d)}),
        )
        .await
        .expect(201);
    }
}

pub async fn reveal_all(app: &TestApp, id: &str, depts: &[&str], beacon: bool) {
    for d in depts {
        app.post(
            &format!("/api/v1/tasks/{id}/reveals"),
            &app.coordinator(d),
            json!({"source": format!("department:{d}"), "value": secret(d)}),
        )
        .await
        .expect(201);
    }
    if beacon {
        app.post(
            &format!("/api/v1/tasks/{id}/reveals"),
            &app.coordinator(MI),
            json!({"source": "beacon:drand-quicknet", "value": BEACON}),
        )
        .await
        .expect(201);
    }
}

/// Creates, commits, seals, reveals and draws the seed 003 task (the county must be
/// registered already).
pub async fn drawn_seed_003(app: &TestApp) -> (String, Value) {
    let id = create_task(app, seed_003_task()).await;
    let mut s = Scenario {
        app,
        county: County {
            hospitals: Vec::new(),
            pharmacies: Vec::new(),
        },
        id,
        task: Value::Null,
        stage: Stage::Draft,
    }
    .drawn()
    .await;
    (std::mem::take(&mut s.id), std::mem::take(&mut s.task))
}

pub async fn bundle(app: &TestApp, id: &str) -> Vec<u8> {
    let r = app
        .client
        .get(format!("{}/api/v1/tasks/{id}/bundle", app.base))
        .bearer_auth(app.auditor())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap().to_vec()
}

/// How far a [`Scenario`] has gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Draft,
    Committed,
    Sealed,
    Revealed,
    Drawn,
    Published,
    WithResults,
}

/// The seed 003 task taken as far as a test needs, each step over the API as the lead
/// coordinator would take it:
/// `Scenario::seed003(&app).await.drawn().await.published().await`.
/// Asking for a later stage takes every step before it.
pub struct Scenario<'a> {
    pub app: &'a TestApp,
    pub county: County,
    pub id: String,
    /// The task's view as the last step answered it (the draw's answer once drawn).
    pub task: Value,
    pub stage: Stage,
}

impl<'a> Scenario<'a> {
    /// The seed 003 county and its task, created (draft).
    pub async fn seed003(app: &'a TestApp) -> Self {
        let county = seed_003_county(app).await;
        let task = app
            .post("/api/v1/tasks", &app.coordinator(MI), seed_003_task())
            .await
            .expect(201)
            .body;
        Self {
            app,
            county,
            id: task["id"].as_str().unwrap().to_string(),
            task,
            stage: Stage::Draft,
        }
    }

    fn path(&self, step: &str) -> String {
        format!("/api/v1/tasks/{}/{step}", self.id)
    }

    async fn step(&mut self, step: &str, status: u16) {
        self.task = self
            .app
            .post(&self.path(step), &self.app.coordinator(MI), json!(null))
            .await
            .expect(status)
            .body;
    }

    /// Every department committed.
    pub async fn committed(mut self) -> Self {
        if self.stage < Stage::Committed {
            commit_all(self.app, &self.id, &[MI, HEALTH, MR]).await;
            self.stage = Stage::Committed;
        }
        self
    }

    /// The pool sealed.
    pub async fn sealed(self) -> Self {
        let mut s = self.committed().await;
        if s.stage < Stage::Sealed {
            s.step("seal", 200).await;
            s.stage = Stage::Sealed;
        }
        s
    }

    /// Every source revealed, the beacon too.
    pub async fn revealed(self) -> Self {
        let mut s = self.sealed().await;
        if s.stage < Stage::Revealed {
            reveal_all(s.app, &s.id, &[MI, HEALTH, MR], true).await;
            s.stage = Stage::Revealed;
        }
        s
    }

    /// The draw made (without an idempotency key).
    pub async fn drawn(self) -> Self {
        let mut s = self.revealed().await;
        if s.stage < Stage::Drawn {
            s.step("draw", 200).await;
            s.stage = Stage::Drawn;
        }
        s
    }

    /// The drawn list published.
    pub async fn published(self) -> Self {
        let mut s = self.drawn().await;
        if s.stage < Stage::Published {
            s.step("publish", 200).await;
            s.stage = Stage::Published;
        }
        s
    }

    /// A published `no_problem` result for every drawn institution: the task is closed.
    pub async fn with_results(self) -> Self {
        let mut s = self.published().await;
        if s.stage < Stage::WithResults {
            for inst in s.institutions() {
                let body = json!({"category": "no_problem", "inspection_date": "2023-08-15"});
                s.app
                    .send(
                        Method::PUT,
                        &format!("/api/v1/tasks/{}/results/{inst}", s.id),
                        Some(&s.app.coordinator(MI)),
                        Some(&body),
                        &[],
                    )
                    .await
                    .expect(201);
            }
            let r = s
                .app
                .post(
                    &s.path("results/publish"),
                    &s.app.coordinator(MI),
                    json!(null),
                )
                .await
                .expect(200);
            assert_eq!(r.body["state"], "closed");
            s.stage = Stage::WithResults;
        }
        s
    }

    /// The drawn institutions' ids, in drawn order.
    pub fn institutions(&self) -> Vec<String> {
        self.task["selections"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| s["institution"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

// ---- publication helpers (the publication read model's tests) ----

/// A second service process ("node") on the same database as `app`, as a second server
/// behind a load balancer would be: its public cache must notice the other node's writes.
pub async fn spawn_second_node(app: &TestApp) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::with_database(&app.database_url);
    config.jwt_secret = Some(SECRET.into());
    let node = suiji::app::Application::build(&config)
        .await
        .expect("second node builds");
    let base = format!("http://{}", node.local_addr());
    tokio::spawn(node.run_until(std::future::pending()));
    TestApp {
        base,
        client: reqwest::Client::new(),
        database_url: app.database_url.clone(),
        auth: Authenticator::new(SECRET.as_bytes()),
        owns_database: false,
        _dir: dir,
    }
}

/// A service whose lifecycle reads a simulated clock set at `at` (RFC 3339); move it with
/// the returned handle.
pub async fn spawn_app_at(at: &str) -> (TestApp, suiji::domain::Clock) {
    let clock = suiji::domain::Clock::simulated(instant(at));
    let shared = clock.clone();
    let app = spawn_app_with(move |c| c.clock = shared).await;
    (app, clock)
}

pub fn instant(at: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(at)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

/// Real drand quicknet rounds: (round, BLS signature), published by the drand relays.
pub const ROUND_657413: (u64, &str) = (
    657413,
    "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b",
);
pub const ROUND_123_SIGNATURE: &str = "b75c69d0b72a5d906e854e808ba7e2accb1542ac355ae486d591aa9d43765482e26cd02df835d3546d23c4b13e0dfc92";

/// The seed 003 task on suiji-draw/2: reveals close at `deadline`, and the beacon is drand
/// quicknet round 657413 (published 2023-09-15T11:00:03Z).
pub fn seed_003_task_v2(deadline: &str) -> Value {
    let mut t = seed_003_task();
    let o = t.as_object_mut().unwrap();
    o.remove("protocol");
    o.insert("reveal_deadline".into(), json!(deadline));
    o["entropy_plan"][3] = json!({"source": "beacon:drand-quicknet", "round": ROUND_657413.0});
    t
}
