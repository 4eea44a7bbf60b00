//! All SQL lives under this module. One set of queries serves SQLite and PostgreSQL through
//! sqlx's `Any` driver: `$N` placeholders, TEXT and BIGINT columns, timestamps as RFC 3339
//! text (which sorts correctly). Each backend has its own migration folder.

pub mod audit;
pub mod backup;
pub mod bulk;
pub mod metrics;
pub mod preflight;
pub mod publication;
pub mod read_model;
mod reads;
pub mod records;
pub mod regions;
pub mod registry;
pub mod tasks;

use anyhow::Context;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, Executor, Transaction};
use std::time::Duration;

pub type Tx = Transaction<'static, Any>;

/// What a storage operation can fail with (the database driver's error), named here so
/// code outside `store` does not reach for the driver.
pub type StoreError = sqlx::Error;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend behind a connection (a transaction knows its own dialect).
    pub fn of(conn: &sqlx::AnyConnection) -> Self {
        if conn.backend_name().eq_ignore_ascii_case("sqlite") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }

    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite: or postgres:// (got {url:?})")
        }
    }
}

/// The database behind the service.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects to `url` (creating a SQLite file if needed) without migrating.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        install_default_drivers();
        let backend = Backend::from_url(url)?;
        preflight::check(url, backend).await?;
        let mut options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
        if backend == Backend::Sqlite {
            // WAL lets readers proceed during a write; the busy timeout makes writers queue
            // instead of failing; foreign keys are off by default in SQLite.
            options = options.max_connections(8).after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    Ok(())
                })
            });
        } else {
            options = options.max_connections(16);
        }
        let pool = options
            .connect(url)
            .await
            .with_context(|| format!("connecting to {}", redact(url)))?;
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await
                .context("switching SQLite to WAL")?;
        }
        Ok(Self { pool, backend })
    }

    /// Connects and applies the embedded migrations of this backend.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.pool)
            .await
            .context("applying database migrations")
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool itself. Only for the public read handlers that still query it directly
    /// (`api/public.rs`, `portal.rs`); everything else goes through [`Store::read`] and
    /// [`Store::begin`].
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A connection for reads outside a write transaction.
    pub async fn read(&self) -> Result<sqlx::pool::PoolConnection<Any>, sqlx::Error> {
        self.pool.acquire().await
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of one failing
    /// when it tries to upgrade a read lock.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Hides the password of a database URL in logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The current time as stored: RFC 3339, UTC, milliseconds.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A fresh server-assigned identifier: UUIDv7, time-ordered and URL-safe.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Marks SQL assembled at run time as reviewed: in this module dynamic SQL is built only
/// from constant table and column names and `$N` placeholders; every value is bound.
pub(crate) fn dynamic(sql: impl Into<String>) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql.into())
}

/// A value bound into a dynamically built query.
#[derive(Debug, Clone)]
pub enum Param {
    Text(String),
    Int(i64),
}

/// Builds a query with `$N` placeholders from pieces, numbering parameters as they come.
#[derive(Default)]
pub struct QueryBuilder {
    pub sql: String,
    pub params: Vec<Param>,
}

impl QueryBuilder {
    pub fn new(sql: &str) -> Self {
        Self {
            sql: sql.to_string(),
            params: Vec::new(),
        }
    }
    /// Appends a parameter and returns its placeholder.
    pub fn bind(&mut self, p: Param) -> String {
        self.params.push(p);
        format!("${}", self.params.len())
    }
    pub fn text(&mut self, s: impl Into<String>) -> String {
        self.bind(Param::Text(s.into()))
    }
    pub fn push(&mut self, s: &str) {
        self.sql.push_str(s);
    }
    /// `AND column IN ($a, $b, …)`
    pub fn any_of(&mut self, column: &str, values: &[String]) {
        if values.is_empty() {
            return;
        }
        let ph: Vec<String> = values.iter().map(|v| self.text(v.clone())).collect();
        self.sql
            .push_str(&format!(" AND {column} IN ({})", ph.join(", ")));
    }
    pub fn query(&self) -> sqlx::query::Query<'_, Any, sqlx::any::AnyArguments> {
        let mut q = sqlx::query(dynamic(self.sql.clone()));
        for p in &self.params {
            q = match p {
                Param::Text(s) => q.bind(s.clone()),
                Param::Int(i) => q.bind(*i),
            };
        }
        q
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The exclusive upper bound of all strings starting with the digit prefix `p`.
pub fn prefix_upper_bound(p: &str) -> String {
    let mut b = p.as_bytes().to_vec();
    if let Some(last) = b.last_mut() {
        *last += 1;
    }
    String::from_utf8(b).expect("ASCII digits stay ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("sqlite://suiji.db"), "sqlite://suiji.db");
    }

    #[test]
    fn prefix_bounds() {
        assert_eq!(prefix_upper_bound("1506"), "1507");
        assert_eq!(prefix_upper_bound("1509"), "150:");
        assert_eq!(like_escape("a%b_c"), "a\\%b\\_c");
    }
}
