//! The `suiji` command: parse the command line, call the library.

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use suiji::auth::{Authenticator, Role, parse_ttl};
use suiji::config::{Config, DbArgs, SecretArgs};

#[derive(Parser)]
#[command(
    name = "suiji",
    version,
    about = "双随机、一公开 joint inspections: registries, verifiable draws, publication"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service (SQLite ./suiji.db unless DATABASE_URL says otherwise).
    Serve(Config),
    /// Apply database migrations and exit.
    Migrate(DbArgs),
    /// Print a signed token for the API.
    Token {
        #[arg(long, value_enum)]
        role: Role,
        /// Who the token is for; it appears in the audit log.
        #[arg(long)]
        sub: String,
        /// The coordinator's department code.
        #[arg(long)]
        department: Option<String>,
        /// The coordinator's organization code (`org` claim), e.g. mi-150626; without it
        /// the token acts for the department's default organization (everywhere).
        #[arg(long)]
        organization: Option<String>,
        /// Lifetime, e.g. 8h, 30m, 7d.
        #[arg(long, default_value = "8h", value_parser = parse_ttl)]
        ttl: std::time::Duration,
        /// The longest lifetime `--ttl` may ask for.
        #[arg(long, env = "SUIJI_TOKEN_MAX_TTL", default_value = "30d", value_parser = parse_ttl)]
        max_ttl: std::time::Duration,
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// Import a registry file (CSV in UTF-8 or GB18030, or XLSX) straight into the
    /// database, all or nothing, with the same checks as the API. Exit 1 on bad rows.
    Import {
        #[arg(value_enum)]
        registry: Registry,
        /// The file; `.xlsx` is read as a workbook, anything else as CSV.
        file: std::path::PathBuf,
        #[arg(long, value_enum, default_value = "insert")]
        mode: ImportMode,
        /// Validate and count, write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Copy the SQLite database to FILE while the service runs (a consistent snapshot).
    /// For PostgreSQL use `pg_dump` (the command says how).
    Backup {
        /// The backup file to create (it must not exist).
        file: std::path::PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Replace the SQLite database with a backup, after checking the backup's audit chain.
    /// Stop the service first.
    Restore {
        /// A file written by `suiji backup`.
        file: std::path::PathBuf,
        /// Replace an existing database.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Print the OpenAPI document this build serves.
    Openapi,
    /// Check a draw bundle offline: recompute the draw from its snapshot and entropy.
    /// Exit 0 when consistent, 1 at the first difference, 2 on unreadable input.
    Verify {
        /// The bundle file (`-` reads standard input); suiji-draw/1 or /2.
        bundle: std::path::PathBuf,
        /// Earlier bundles, to check the exclusions of a /2 bundle against what they drew.
        #[arg(long)]
        previous: Vec<std::path::PathBuf>,
        /// A sample of records: the list file (CSV or XLSX as uploaded), to recompute every
        /// member hash (with --salt).
        #[arg(long, requires = "salt")]
        list: Option<std::path::PathBuf>,
        /// The list's salt (hex), from `GET /api/v1/lists/{id}/salt` (auditors).
        #[arg(long, requires = "list")]
        salt: Option<String>,
    },
    /// Audit-log commands.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Registry {
    Institutions,
    Inspectors,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ImportMode {
    Insert,
    Upsert,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recheck the audit hash chain in the database; exit 1 at the first broken link or at
    /// a saved anchor the log contradicts.
    Verify {
        #[command(flatten)]
        db: DbArgs,
        /// A chain anchor saved earlier (published at a seal, draw or publication), as
        /// `SEQ:HASH`; may be repeated.
        #[arg(long, value_name = "SEQ:HASH")]
        anchor: Vec<String>,
    },
}

mod cli_import {
    use anyhow::Context;
    use indicatif::{ProgressBar, ProgressStyle};
    use std::io::{IsTerminal, Read};
    use std::path::Path;
    use std::process::ExitCode;
    use suiji::bulk::import::FileInfo;
    use suiji::bulk::schema::BulkRecord;
    use suiji::bulk::source::{Format, Table, detect_encoding_streaming, format_of_path};
    use suiji::bulk::{ImportError, Importer, Options};
    use suiji::store::Store;
    use suiji::store::audit::Actor;

    /// Imports `path` as the CLI's actor (`cli:<unix user>`, admin rights).
    pub async fn run<T: BulkRecord>(
        store: &Store,
        path: &Path,
        opts: Options,
    ) -> anyhow::Result<ExitCode> {
        use sha2::Digest;
        let open =
            || std::fs::File::open(path).with_context(|| format!("opening {}", path.display()));
        let size = open()?.metadata()?.len();
        let mut head = [0u8; 4];
        let n = open()?.read(&mut head)?;
        let format = format_of_path(path, &head[..n]);
        let terminal = std::io::stderr().is_terminal();
        let bar = if terminal {
            ProgressBar::new(size)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{msg:12} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta})",
            )
            .expect("a valid template"),
        );
        // One pass for the SHA-256 (and, for CSV, the encoding); one for the rows.
        bar.set_message("checking");
        let mut hasher = sha2::Sha256::new();
        let encoding =
            detect_encoding_streaming(bar.wrap_read(open()?), |chunk| hasher.update(chunk))?;
        let sha256 = hex::encode(hasher.finalize());
        bar.set_position(0);
        bar.set_message("importing");
        let (mut table, file) = match format {
            Format::Csv => (
                Table::csv(
                    Box::new(std::io::BufReader::with_capacity(
                        1 << 16,
                        bar.wrap_read(open()?),
                    )),
                    encoding,
                ),
                FileInfo {
                    format: "csv",
                    encoding: Some(encoding.name()),
                    sha256,
                },
            ),
            Format::Xlsx => (
                Table::xlsx(std::io::BufReader::new(open()?))
                    .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.reason))?,
                FileInfo {
                    format: "xlsx",
                    encoding: None,
                    sha256,
                },
            ),
        };
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into());
        let who = Importer {
            actor: Actor {
                sub: format!("cli:{user}"),
                role: "admin".into(),
            },
            departments: None,
            region_prefix: String::new(),
            organization: None,
        };
        let started = std::time::Instant::now();
        let result = suiji::bulk::import::<T>(store, &mut table, file, &who, opts, |_| {}).await;
        bar.finish_and_clear();
        match result {
            Ok(report) => {
                println!("{}", serde_json::to_string_pretty(&report)?);
                eprintln!(
                    "{} rows in {:.1} s{}",
                    report.rows,
                    started.elapsed().as_secs_f64(),
                    if report.dry_run {
                        " (dry run: nothing written)"
                    } else {
                        ""
                    }
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(ImportError::Rows { errors, count }) => {
                for e in &errors {
                    eprintln!(
                        "row {}, column {}: {}{}",
                        e.row,
                        if e.column.is_empty() { "-" } else { &e.column },
                        e.reason,
                        if e.value.is_empty() {
                            String::new()
                        } else {
                            format!(" (value: {:?})", e.value)
                        }
                    );
                }
                if count > errors.len() as u64 {
                    eprintln!("… and {} more", count - errors.len() as u64);
                }
                eprintln!(
                    "{count} error(s) in {}; nothing was written",
                    path.display()
                );
                Ok(ExitCode::from(1))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Logs to standard error: colours only on a terminal; one JSON object a line with
/// `SUIJI_LOG_FORMAT=json` (each request's lines carry its `request_id`).
fn init_tracing() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("SUIJI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("SUIJI_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
}

/// The database URL of a command that only reads an existing database: never create one.
fn existing_database(url: &str) -> String {
    url.replace("mode=rwc", "mode=rw")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(config) => {
            init_tracing();
            runtime()?.block_on(async {
                let app = suiji::app::Application::build(&config).await?;
                tracing::info!(
                    "suiji listening on http://{} (database {}); API docs at /docs",
                    app.local_addr(),
                    suiji::store::redact(&config.database_url)
                );
                app.run_until(suiji::app::shutdown_signal()).await
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate(db) => {
            let config = db.config(None);
            init_tracing();
            runtime()?.block_on(async {
                let store = suiji::store::Store::open(&config.database_url).await?;
                store.close().await;
                anyhow::Ok(())
            })?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Token {
            role,
            sub,
            department,
            organization,
            ttl,
            max_ttl,
            db,
            secret,
        } => {
            let config = db.config(Some(&secret));
            if ttl > max_ttl {
                anyhow::bail!(
                    "--ttl {} is longer than the allowed {} (SUIJI_TOKEN_MAX_TTL)",
                    humantime::format_duration(ttl),
                    humantime::format_duration(max_ttl)
                );
            }
            let (secret, _) = config.secret(false)?;
            if let Some(d) = &department {
                // A coordinator token for a department that is not registered would be
                // refused by the service; say so now.
                let url = existing_database(&config.database_url);
                let known = runtime()?.block_on(async {
                    let store = suiji::store::Store::connect(&url).await?;
                    let known = store.department_exists(d).await?;
                    store.close().await;
                    anyhow::Ok(known)
                })?;
                if !known {
                    anyhow::bail!(
                        "department {d:?} is not registered in {} (list them with GET /api/v1/departments)",
                        suiji::store::redact(&config.database_url)
                    );
                }
            }
            if let (Some(o), Some(d)) = (&organization, &department) {
                // An organization that is not registered, or of another department, would
                // be refused by the service; say so now.
                let url = existing_database(&config.database_url);
                let found = runtime()?.block_on(async {
                    let store = suiji::store::Store::connect(&url).await?;
                    let found = store.organization(o).await?;
                    store.close().await;
                    anyhow::Ok(found)
                })?;
                match found {
                    None => anyhow::bail!(
                        "organization {o:?} is not registered in {} (list them with GET /api/v1/organizations)",
                        suiji::store::redact(&config.database_url)
                    ),
                    Some(org) if org.data.department.as_str() != d => anyhow::bail!(
                        "organization {o:?} belongs to department {}, not {d}",
                        org.data.department
                    ),
                    Some(_) => {}
                }
            }
            let token = Authenticator::new(&secret).mint_for(
                &sub,
                role,
                department.as_deref(),
                organization.as_deref(),
                ttl,
            )?;
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            registry,
            file,
            mode,
            dry_run,
            db,
        } => {
            let config = db.config(None);
            let opts = suiji::bulk::Options {
                mode: match mode {
                    ImportMode::Insert => suiji::bulk::Mode::Insert,
                    ImportMode::Upsert => suiji::bulk::Mode::Upsert,
                },
                dry_run,
            };
            runtime()?.block_on(async {
                let store = suiji::store::Store::open(&config.database_url).await?;
                let result = match registry {
                    Registry::Institutions => {
                        cli_import::run::<suiji::domain::registry::InstitutionInput>(
                            &store, &file, opts,
                        )
                        .await
                    }
                    Registry::Inspectors => {
                        cli_import::run::<suiji::domain::registry::InspectorInput>(
                            &store, &file, opts,
                        )
                        .await
                    }
                };
                store.close().await;
                result
            })
        }
        Command::Openapi => {
            print!("{}", suiji::api::openapi_yaml());
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify {
            bundle,
            previous,
            list,
            salt,
        } => Ok(suiji::verify_cmd::run_with_list(
            &bundle,
            &previous,
            list.as_deref().zip(salt.as_deref()),
        )),
        Command::Backup { file, db } => runtime()?.block_on(async {
            let url = existing_database(&db.database_url);
            let store = suiji::store::Store::connect(&url).await?;
            let result = suiji::store::backup::sqlite_backup(&store, &file).await;
            store.close().await;
            result?;
            println!("backup written to {}", file.display());
            Ok(ExitCode::SUCCESS)
        }),
        Command::Restore { file, force, db } => runtime()?.block_on(restore(&file, force, &db)),
        Command::Audit {
            command: AuditCommand::Verify { db, anchor },
        } => runtime()?.block_on(async {
            let mut anchors = Vec::with_capacity(anchor.len());
            for a in &anchor {
                match a
                    .split_once(':')
                    .and_then(|(s, h)| Some((s.parse::<i64>().ok()?, h)))
                {
                    Some((seq, hash)) if seq >= 1 => anchors.push((seq, hash.to_owned())),
                    _ => {
                        eprintln!("error: --anchor {a:?} is not SEQ:HASH");
                        return Ok(ExitCode::from(2));
                    }
                }
            }
            let config = db.config(None);
            let store =
                suiji::store::Store::connect(&existing_database(&config.database_url)).await?;
            let report = store.verify_audit_chain().await?;
            let mut contradicted = None;
            for (seq, hash) in &anchors {
                if let Err(reason) = store.check_audit_anchor(*seq, hash).await? {
                    contradicted = Some(reason);
                    break;
                }
            }
            store.close().await;
            if let Some(reason) = contradicted {
                println!("audit chain CONTRADICTS a saved anchor: {reason}");
                return Ok(ExitCode::from(1));
            }
            match report.first_broken {
                None => {
                    println!(
                        "audit chain intact: {} entries, head {}",
                        report.entries, report.head
                    );
                    for (seq, hash) in &anchors {
                        println!("anchor {seq}:{hash} holds");
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Some(b) => {
                    println!("audit chain BROKEN at entry {}: {}", b.seq, b.reason);
                    Ok(ExitCode::from(1))
                }
            }
        }),
    }
}

/// Checks a backup's audit chain, then puts it in place of the SQLite database (and
/// applies any newer migrations).
async fn restore(file: &std::path::Path, force: bool, db: &DbArgs) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    let Some(target) = suiji::config::sqlite_path(&db.database_url) else {
        anyhow::bail!(
            "suiji restore replaces SQLite databases; for PostgreSQL run: pg_restore --clean --dbname \"$DATABASE_URL\" {}",
            file.display()
        );
    };
    if !file.is_file() {
        anyhow::bail!("no backup at {}", file.display());
    }
    if target.exists() && !force {
        anyhow::bail!(
            "{} exists; stop the service and add --force to replace it",
            target.display()
        );
    }
    // Check a copy, so neither the backup nor the database is touched until it passes.
    let tmp = std::path::PathBuf::from(format!("{}.restoring", target.display()));
    let side =
        |p: &std::path::Path, s: &str| std::path::PathBuf::from(format!("{}{s}", p.display()));
    std::fs::copy(file, &tmp).with_context(|| format!("copying to {}", tmp.display()))?;
    let store =
        suiji::store::Store::connect(&format!("sqlite://{}?mode=rw", tmp.display())).await?;
    let report = store.verify_audit_chain().await;
    store.close().await;
    let report = match report {
        Ok(r) if r.first_broken.is_none() => r,
        other => {
            for p in [tmp.clone(), side(&tmp, "-wal"), side(&tmp, "-shm")] {
                let _ = std::fs::remove_file(p);
            }
            match other?.first_broken {
                Some(b) => println!(
                    "the backup's audit chain is BROKEN at entry {}: {}; nothing restored",
                    b.seq, b.reason
                ),
                None => unreachable!("a passing chain is restored"),
            }
            return Ok(ExitCode::from(1));
        }
    };
    for suffix in ["-wal", "-shm"] {
        let p = side(&target, suffix);
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
        }
    }
    std::fs::rename(&tmp, &target).with_context(|| format!("replacing {}", target.display()))?;
    let store =
        suiji::store::Store::open(&format!("sqlite://{}?mode=rw", target.display())).await?;
    store.close().await;
    println!(
        "restored {} from {}: audit chain intact, {} entries",
        target.display(),
        file.display(),
        report.entries
    );
    Ok(ExitCode::SUCCESS)
}
