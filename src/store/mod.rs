//! All SQL lives under this module. One set of queries serves SQLite and PostgreSQL through
//! sqlx's `Any` driver: `$N` placeholders, TEXT and BIGINT columns, timestamps as RFC 3339
//! text (which sorts correctly). Each backend has its own migration folder.

pub mod audit;
pub mod backup;
pub mod blacklist;
pub mod bulk;
/// The clue ledger (issue 15 part 4).
pub mod clues;
pub mod credit;
pub mod dispatch;
pub mod evidence;
mod filter;
/// After the inspection (issue 15): rectifications, referrals, major cases.
pub mod followup;
/// Record lists (issue 14): metadata, rows in batches, uses.
pub mod lists;
pub mod metrics;
/// Objections to published results (issue 15 part 5).
pub mod objections;
pub mod organizations;
pub mod parts;
/// Annual plans: their state, amendments and round tasks.
pub mod plans;
pub mod preflight;
pub mod public_stats;
pub mod publication;
pub mod read_model;
mod reads;
/// Re-check samples: completed inspections and the pool's origins.
pub mod recheck;
pub mod records;
pub mod regions;
pub mod registry;
/// Statistics rows and monthly submissions (issue 15).
pub mod statistics;
/// Targeted inspections: the named institutions.
pub mod targeted;
pub mod tasks;
pub mod versioned;
pub mod webhooks;

use anyhow::Context;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, Executor, Transaction};
use std::time::Duration;

/// A write transaction that knows the service's clock: every timestamp it stores
/// (`created_at`, `published_at`, an audit entry's `at`, …) is [`Tx::now`], read from the
/// same clock as the deadlines, so under `--simulated-clock` a published result is dated
/// on the simulated day it was published. It dereferences to the connection.
pub struct Tx {
    inner: Transaction<'static, Any>,
    clock: crate::domain::Clock,
}

impl std::ops::Deref for Tx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.inner
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.inner.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.inner.rollback().await
    }

    /// The current time on the service's clock, as stored.
    pub fn now(&self) -> String {
        stored_time(self.clock.now())
    }
}

/// What a storage operation can fail with (the database driver's error), named here so
/// code outside `store` does not reach for the driver.
pub type StoreError = sqlx::Error;

/// What a storage failure means to a caller, so the driver's error kinds and codes are read
/// only here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// A unique key already holds the value (a race past the explicit existence checks).
    UniqueViolation,
    /// Another writer held the lock past the busy timeout, or the pool had no connection
    /// in time: nothing was changed, a retry may succeed.
    Busy,
    /// Anything else: a real fault.
    Fault,
}

/// Classifies a storage error.
pub fn classify(e: &StoreError) -> Failure {
    match e {
        sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation => {
            Failure::UniqueViolation
        }
        // SQLITE_BUSY (5), SQLITE_LOCKED (6) and their extended codes. Only SQLite's
        // numeric codes are read so: a PostgreSQL SQLSTATE such as 22021 is five
        // characters that merely look like a number.
        sqlx::Error::Database(db)
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
                && db
                    .code()
                    .and_then(|c| c.parse::<i32>().ok())
                    .is_some_and(|c| matches!(c & 0xff, 5 | 6)) =>
        {
            Failure::Busy
        }
        sqlx::Error::PoolTimedOut => Failure::Busy,
        _ => Failure::Fault,
    }
}

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
    /// The time the task lifecycle reads "now" from (deadlines, beacon rounds).
    clock: crate::domain::Clock,
    /// Where evidence files live: `<db dir>/evidence` for a SQLite file; `None` keeps the
    /// bytes in the database (PostgreSQL, in-memory SQLite).
    evidence_dir: Option<std::path::PathBuf>,
    /// The yearly cap of random inspections per institution applied at every /2 seal
    /// (issue 13; off by default).
    yearly_cap: crate::plans::caps::YearlyCap,
    /// Samples over lists of more than this many records are sealed in the tree form (B.18).
    record_tree_rows: u64,
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
        let evidence_dir = match backend {
            Backend::Sqlite => crate::config::sqlite_path(url).map(|db| {
                db.parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(std::path::Path::new("."))
                    .join("evidence")
            }),
            Backend::Postgres => None,
        };
        Ok(Self {
            pool,
            backend,
            clock: crate::domain::Clock::system(),
            evidence_dir,
            yearly_cap: Default::default(),
            record_tree_rows: 100_000,
        })
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

    /// This store with the lifecycle reading time from `clock`.
    pub fn with_clock(mut self, clock: crate::domain::Clock) -> Self {
        self.clock = clock;
        self
    }

    /// This store with the yearly cap applied at every /2 seal.
    pub fn with_yearly_cap(mut self, cap: crate::plans::caps::YearlyCap) -> Self {
        self.yearly_cap = cap;
        self
    }

    /// This store with samples over lists of more than `rows` records sealed in tree form.
    pub fn with_record_tree_rows(mut self, rows: u64) -> Self {
        self.record_tree_rows = rows;
        self
    }

    /// Above how many records a sample over a list is sealed in tree form (B.18).
    pub fn record_tree_rows(&self) -> u64 {
        self.record_tree_rows
    }

    /// The yearly cap of random inspections per institution.
    pub fn yearly_cap(&self) -> &crate::plans::caps::YearlyCap {
        &self.yearly_cap
    }

    /// The clock the task lifecycle reads "now" from.
    pub fn clock(&self) -> &crate::domain::Clock {
        &self.clock
    }

    /// The directory of evidence files, when evidence is kept as files.
    pub fn evidence_dir(&self) -> Option<&std::path::Path> {
        self.evidence_dir.as_deref()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool itself, for the queries of this module only: callers go through the
    /// store's methods, [`Store::read`] and [`Store::begin`].
    pub(in crate::store) fn pool(&self) -> &AnyPool {
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
        let inner = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Tx {
            inner,
            clock: self.clock.clone(),
        })
    }

    /// The current time on the service's clock, as stored (see [`Tx::now`]).
    pub fn now(&self) -> String {
        stored_time(self.clock.now())
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

/// A time as stored: RFC 3339, UTC, milliseconds.
pub fn stored_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The system clock's time as stored, for what is about the real world rather than the
/// service's day: a webhook delivery attempt (its receiver checks the signature's time
/// against its own clock, and retries wait real time).
pub fn system_now() -> String {
    stored_time(chrono::Utc::now())
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
    pub fn any_of<S: AsRef<str>>(&mut self, column: &str, values: &[S]) {
        if values.is_empty() {
            return;
        }
        let ph: Vec<String> = values.iter().map(|v| self.text(v.as_ref())).collect();
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

    #[tokio::test]
    async fn a_locked_sqlite_database_is_busy_not_a_fault() {
        use crate::error::ApiError;
        use axum::http::{StatusCode, header};
        use axum::response::IntoResponse;
        use sqlx::Connection;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/busy.db?mode=rwc", dir.path().display());
        let mut holder = sqlx::SqliteConnection::connect(&url).await.unwrap();
        holder.execute("CREATE TABLE t (x INTEGER)").await.unwrap();
        holder.execute("BEGIN IMMEDIATE").await.unwrap();
        let mut other = sqlx::SqliteConnection::connect(&url).await.unwrap();
        other.execute("PRAGMA busy_timeout = 50").await.unwrap();
        let err = other.execute("INSERT INTO t VALUES (1)").await.unwrap_err();
        assert_eq!(classify(&err), Failure::Busy, "{err}");
        let api = ApiError::from(err);
        assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE, "{api}");
        let resp = api.into_response();
        assert_eq!(resp.headers()[header::RETRY_AFTER], "5");
        holder.execute("ROLLBACK").await.unwrap();
    }

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
