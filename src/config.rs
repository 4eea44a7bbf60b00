//! Configuration from flags and `SUIJI_*` environment variables. Every setting has a
//! default that works on a fresh machine: `suiji serve` alone runs on `./suiji.db`.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "SUIJI_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// Database: `sqlite://FILE?mode=rwc` (embedded, the default) or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://suiji.db?mode=rwc"
    )]
    pub database_url: String,

    /// HS256 secret for tokens (at least 32 bytes). Without it, the secret file is used.
    #[arg(long, env = "SUIJI_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// File holding the HS256 secret; created with mode 0600 by `serve` if missing.
    /// Default: `suiji.jwt-secret` beside the SQLite database, or in the working directory.
    #[arg(long, env = "SUIJI_JWT_SECRET_FILE")]
    pub jwt_secret_file: Option<PathBuf>,

    /// Public key of an external identity provider (PEM or JWKS file); its RS256, ES256
    /// or EdDSA tokens are then accepted too.
    #[arg(long, env = "SUIJI_JWT_PUBLIC_KEY")]
    pub jwt_public_key: Option<PathBuf>,

    /// Required `iss` claim, if set.
    #[arg(long, env = "SUIJI_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// Required `aud` claim, if set.
    #[arg(long, env = "SUIJI_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,

    /// Largest JSON request body, in bytes.
    #[arg(long, env = "SUIJI_BODY_LIMIT", default_value_t = 2 * 1024 * 1024)]
    pub body_limit: usize,

    /// Largest file accepted by the import endpoints, in bytes (100 MiB).
    #[arg(long, env = "SUIJI_IMPORT_LIMIT", default_value_t = 100 * 1024 * 1024)]
    pub import_limit: usize,

    /// Webhooks: the first retry of a failed delivery waits this long, each further one
    /// twice as long (at most 8 attempts).
    #[arg(long, env = "SUIJI_WEBHOOK_RETRY", default_value = "10s", value_parser = humantime::parse_duration)]
    pub webhook_retry: std::time::Duration,

    /// Largest evidence file (photo, scan, PDF) accepted, in bytes (20 MiB).
    #[arg(long, env = "SUIJI_EVIDENCE_LIMIT", default_value_t = 20 * 1024 * 1024)]
    pub evidence_limit: usize,

    /// Time a client has to send a request's headers (from connecting, or from the end of
    /// the previous request on a kept-alive connection); then the connection is closed.
    #[arg(long, env = "SUIJI_HEADER_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_timeout: std::time::Duration,

    /// Time a client has to send a request's whole body (an import of 100 MiB over a slow
    /// line needs minutes); then the request fails with 408.
    #[arg(long, env = "SUIJI_BODY_TIMEOUT", default_value = "300s", value_parser = humantime::parse_duration)]
    pub body_timeout: std::time::Duration,

    /// Base URL of the public site, for absolute links in the feed and `Link` headers
    /// (never taken from a request's `Host`). Default: `http://` + the bound address.
    #[arg(long, env = "SUIJI_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// The yearly cap of random inspections per institution, applied at every
    /// suiji-draw/2 seal: `level=N` (by tasks of one organization level), `total=N` (in
    /// all), or both, e.g. `level=2,total=4`; empty: no cap. Targeted and rectification
    /// checks are exempt.
    #[arg(long, env = "SUIJI_YEARLY_CAP", default_value = "")]
    pub yearly_cap: crate::plans::caps::YearlyCap,

    /// A sample over a record list of more than this many records is sealed in the tree
    /// form (docs/draw-spec.md B.18): each stratum commits to its members by a Merkle root,
    /// and the bundle discloses only the members the draw considered.
    #[arg(long, env = "SUIJI_RECORD_TREE_ROWS", default_value_t = 100_000)]
    pub record_tree_rows: u64,

    /// The issuing authority shown on the portal (发布机关), e.g. 某市医疗保障局.
    #[arg(long, env = "SUIJI_AUTHORITY", default_value = "")]
    pub authority: String,

    /// How the public contacts the authority, shown on the portal (telephone, address).
    #[arg(long, env = "SUIJI_CONTACT", default_value = "")]
    pub contact: String,

    /// DEMO ONLY: the task lifecycle reads time from a simulated clock starting at this
    /// RFC 3339 instant (to walk through a draw with an already published drand round).
    /// Loud: logged at start, stated by /healthz, a banner on every portal page, and in
    /// every task view. Never in service.
    #[arg(long, env = "SUIJI_SIMULATED_CLOCK", value_parser = parse_instant)]
    pub simulated_clock: Option<chrono::DateTime<chrono::Utc>>,

    /// The clock the lifecycle reads (tests hold a clone to move it).
    #[arg(skip)]
    pub clock: crate::domain::Clock,
}

fn parse_instant(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("not an RFC 3339 instant (e.g. 2023-09-15T10:00:00Z): {e}"))
}

/// The database of a command that needs nothing else (`import`, `migrate`, `audit verify`,
/// `backup`, `restore`): only its own flags show in its `--help`.
#[derive(Debug, Clone, clap::Args)]
pub struct DbArgs {
    /// Database: `sqlite://FILE?mode=rwc` (embedded, the default) or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://suiji.db?mode=rwc"
    )]
    pub database_url: String,
}

/// Where `token` finds the secret: the same settings as `serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct SecretArgs {
    /// HS256 secret for tokens (at least 32 bytes). Without it, the secret file is used.
    #[arg(long, env = "SUIJI_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// File holding the HS256 secret. Default: `suiji.jwt-secret` beside the SQLite
    /// database, or in the working directory.
    #[arg(long, env = "SUIJI_JWT_SECRET_FILE")]
    pub jwt_secret_file: Option<PathBuf>,
}

impl DbArgs {
    /// A full configuration for this database (and these secret settings).
    pub fn config(&self, secret: Option<&SecretArgs>) -> Config {
        let mut c = Config::with_database(&self.database_url);
        if let Some(s) = secret {
            c.jwt_secret = s.jwt_secret.clone();
            c.jwt_secret_file = s.jwt_secret_file.clone();
        }
        c
    }
}

impl Config {
    /// A configuration with every default, for tests and embedding.
    pub fn with_database(database_url: &str) -> Self {
        Self {
            bind: "127.0.0.1:0".into(),
            database_url: database_url.into(),
            jwt_secret: None,
            jwt_secret_file: None,
            jwt_public_key: None,
            jwt_issuer: None,
            jwt_audience: None,
            body_limit: 2 * 1024 * 1024,
            import_limit: 100 * 1024 * 1024,
            evidence_limit: 20 * 1024 * 1024,
            webhook_retry: std::time::Duration::from_secs(10),
            header_timeout: std::time::Duration::from_secs(10),
            body_timeout: std::time::Duration::from_secs(300),
            public_url: None,
            authority: String::new(),
            contact: String::new(),
            yearly_cap: Default::default(),
            record_tree_rows: 100_000,
            simulated_clock: None,
            clock: crate::domain::Clock::system(),
        }
    }

    /// Where the secret file lives when not configured: beside the SQLite file.
    pub fn secret_file(&self) -> PathBuf {
        if let Some(p) = &self.jwt_secret_file {
            return p.clone();
        }
        sqlite_path(&self.database_url)
            .and_then(|db| db.parent().map(Path::to_path_buf))
            .map(|dir| {
                if dir.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    dir
                }
            })
            .unwrap_or_else(|| PathBuf::from("."))
            .join("suiji.jwt-secret")
    }

    /// The HS256 secret: from the setting, else from the secret file, which `create`
    /// generates (32 random bytes, hex, mode 0600) when it does not exist yet.
    /// Returns the secret and, when it was just generated, the file it was written to.
    pub fn secret(&self, create: bool) -> anyhow::Result<(Vec<u8>, Option<PathBuf>)> {
        if let Some(s) = &self.jwt_secret {
            if s.len() < 32 {
                bail!("SUIJI_JWT_SECRET must be at least 32 bytes long");
            }
            return Ok((s.as_bytes().to_vec(), None));
        }
        let path = self.secret_file();
        match std::fs::read_to_string(&path) {
            Ok(s) => {
                let s = s.trim();
                if s.len() < 32 {
                    bail!("{} holds fewer than 32 bytes", path.display());
                }
                Ok((s.as_bytes().to_vec(), None))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let secret = generate_secret();
                write_private(&path, &secret)
                    .with_context(|| format!("writing {}", path.display()))?;
                Ok((secret.into_bytes(), Some(path)))
            }
            Err(e) => Err(e).with_context(|| {
                format!(
                    "reading the token secret {} (start `suiji serve` once, or set SUIJI_JWT_SECRET)",
                    path.display()
                )
            }),
        }
    }
}

fn generate_secret() -> String {
    use rand::Rng;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.write_all(b"\n")
}

/// The file of a `sqlite:` URL, if it names one.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let file = rest.split('?').next().unwrap_or("");
    if file.is_empty() || file == ":memory:" {
        None
    } else {
        Some(PathBuf::from(file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_file_sits_beside_the_database() {
        let c = Config::with_database("sqlite://data/suiji.db?mode=rwc");
        assert_eq!(c.secret_file(), PathBuf::from("data/suiji.jwt-secret"));
        let c = Config::with_database("sqlite://suiji.db?mode=rwc");
        assert_eq!(c.secret_file(), PathBuf::from("./suiji.jwt-secret"));
        let c = Config::with_database("postgres://x@h/db");
        assert_eq!(c.secret_file(), PathBuf::from("./suiji.jwt-secret"));
    }

    #[test]
    fn generated_secret_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Config::with_database("sqlite://x.db");
        c.jwt_secret_file = Some(dir.path().join("s"));
        let (a, created) = c.secret(true).unwrap();
        assert!(created.is_some());
        let (b, again) = c.secret(false).unwrap();
        assert_eq!(a, b);
        assert!(again.is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("s"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
