//! Prometheus metrics, rendered as text at `GET /metrics` (no exporter crate: a handful of
//! counters and histograms kept in memory, per process).
//!
//! - `suiji_http_requests_total{route,method,status}` and
//!   `suiji_http_request_duration_seconds{route,method,status}`: by route template
//!   (`/api/v1/tasks/{id}`), never by raw path, so ids do not explode the series.
//! - `suiji_operation_duration_seconds{operation}` and `suiji_operation_size{operation}`:
//!   seal, draw and import (the lifecycle calls [`observe_operation`]; imports are
//!   instrumented in the bulk API).
//! - `suiji_audit_chain_length`, `suiji_db_pool_connections{state}`: read at each scrape.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

const SECONDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];
const SIZES: &[f64] = &[
    1.0,
    10.0,
    100.0,
    1_000.0,
    10_000.0,
    100_000.0,
    1_000_000.0,
    10_000_000.0,
];

#[derive(Default)]
struct Histogram {
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], v: f64) {
        if self.buckets.is_empty() {
            self.buckets = vec![0; bounds.len()];
        }
        for (b, bound) in self.buckets.iter_mut().zip(bounds) {
            if v <= *bound {
                *b += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64]) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (b, bound) in self.buckets.iter().zip(bounds) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {b}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

#[derive(Default)]
struct Registry {
    requests: BTreeMap<(String, String, u16), Histogram>,
    durations: BTreeMap<String, Histogram>,
    sizes: BTreeMap<String, Histogram>,
}

fn registry() -> &'static Mutex<Registry> {
    static R: OnceLock<Mutex<Registry>> = OnceLock::new();
    R.get_or_init(Default::default)
}

fn lock() -> std::sync::MutexGuard<'static, Registry> {
    registry().lock().unwrap_or_else(|p| p.into_inner())
}

/// One HTTP request, by route template.
pub fn observe_request(route: &str, method: &str, status: u16, took: Duration) {
    lock()
        .requests
        .entry((route.to_string(), method.to_string(), status))
        .or_default()
        .observe(SECONDS, took.as_secs_f64());
}

/// One seal, draw or import: how long it took and how big it was (rows, selections…).
pub fn observe_operation(operation: &str, took: Duration, size: u64) {
    let mut r = lock();
    r.durations
        .entry(operation.to_string())
        .or_default()
        .observe(SECONDS, took.as_secs_f64());
    r.sizes
        .entry(operation.to_string())
        .or_default()
        .observe(SIZES, size as f64);
}

/// Label values escaped as the text format wants.
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Gauges read from the database at scrape time.
pub struct Gauges {
    pub audit_chain_length: i64,
    pub pool_size: u32,
    pub pool_idle: usize,
}

/// Everything, in the Prometheus text exposition format (version 0.0.4).
pub fn render(g: &Gauges) -> String {
    let r = lock();
    let mut out = String::new();
    out.push_str("# HELP suiji_http_requests_total HTTP requests by route template, method and status.\n# TYPE suiji_http_requests_total counter\n");
    for ((route, method, status), h) in &r.requests {
        let _ = writeln!(
            out,
            "suiji_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {}",
            esc(route),
            h.count
        );
    }
    out.push_str("# HELP suiji_http_request_duration_seconds HTTP request latency.\n# TYPE suiji_http_request_duration_seconds histogram\n");
    for ((route, method, status), h) in &r.requests {
        let labels = format!(
            "route=\"{}\",method=\"{method}\",status=\"{status}\"",
            esc(route)
        );
        h.render(
            &mut out,
            "suiji_http_request_duration_seconds",
            &labels,
            SECONDS,
        );
    }
    out.push_str("# HELP suiji_operation_duration_seconds Duration of seals, draws and imports.\n# TYPE suiji_operation_duration_seconds histogram\n");
    for (op, h) in &r.durations {
        let labels = format!("operation=\"{}\"", esc(op));
        h.render(
            &mut out,
            "suiji_operation_duration_seconds",
            &labels,
            SECONDS,
        );
    }
    out.push_str("# HELP suiji_operation_size Size of seals, draws (selections) and imports (rows).\n# TYPE suiji_operation_size histogram\n");
    for (op, h) in &r.sizes {
        let labels = format!("operation=\"{}\"", esc(op));
        h.render(&mut out, "suiji_operation_size", &labels, SIZES);
    }
    let _ = write!(
        out,
        "# HELP suiji_audit_chain_length Entries in the audit chain.\n# TYPE suiji_audit_chain_length gauge\nsuiji_audit_chain_length {}\n\
         # HELP suiji_db_pool_connections Database pool connections.\n# TYPE suiji_db_pool_connections gauge\n\
         suiji_db_pool_connections{{state=\"open\"}} {}\nsuiji_db_pool_connections{{state=\"idle\"}} {}\n",
        g.audit_chain_length, g.pool_size, g.pool_idle
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative() {
        let mut h = Histogram::default();
        h.observe(SECONDS, 0.02);
        h.observe(SECONDS, 3.0);
        let mut out = String::new();
        h.render(&mut out, "x", "a=\"b\"", SECONDS);
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.025\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"5\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"+Inf\"} 2\n"), "{out}");
        assert!(out.contains("x_count{a=\"b\"} 2\n"), "{out}");
    }
}
