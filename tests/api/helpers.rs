//! Test helpers: each test gets its own service on a free port and its own database
//! (a SQLite file in a temp dir, or a fresh PostgreSQL database when `TEST_DATABASE_URL`
//! names a server), and talks to it over real HTTP.

use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};
use sqlx::Connection;
use suiji::auth::{Authenticator, Role};
use suiji::config::Config;

pub const SECRET: &str = "test-secret-test-secret-test-secret-0123";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub database_url: String,
    auth: Authenticator,
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
        _dir: dir,
    }
}
