//! The API client the benchmark examples share: a token per caller (the admin, or a
//! department's coordinator) minted from the server's secret, and requests that expect
//! a status and return the JSON body.

use std::time::Duration;

use anyhow::bail;
use serde_json::Value;
use suiji::auth::{Authenticator, Role};

#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
    pub auth: std::sync::Arc<Authenticator>,
}

impl Api {
    pub fn token(&self, department: Option<&str>) -> anyhow::Result<String> {
        let (role, sub) = match department {
            Some(d) => (Role::Coordinator, format!("coord-{d}")),
            None => (Role::Admin, "admin".to_string()),
        };
        self.auth
            .mint(&sub, role, department, Duration::from_secs(36_000))
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        department: Option<&str>,
        path: &str,
        body: Option<Value>,
        status: u16,
    ) -> anyhow::Result<Value> {
        let mut req = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(self.token(department)?);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let got = resp.status().as_u16();
        let text = resp.text().await?;
        if got != status {
            let head: String = text.chars().take(500).collect();
            bail!("{method} {path}: expected {status}, got {got}: {head}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn post(
        &self,
        d: Option<&str>,
        path: &str,
        body: Value,
        status: u16,
    ) -> anyhow::Result<Value> {
        self.send(reqwest::Method::POST, d, path, Some(body), status)
            .await
    }
}
