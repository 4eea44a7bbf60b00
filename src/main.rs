//! The `suiji` command: parse the command line, call the library.

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use suiji::auth::{Authenticator, Role, parse_ttl};
use suiji::config::Config;

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
    Migrate(Config),
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
        /// Lifetime, e.g. 8h, 30m, 7d.
        #[arg(long, default_value = "8h", value_parser = parse_ttl)]
        ttl: std::time::Duration,
        #[command(flatten)]
        config: Config,
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
        config: Config,
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
        config: Config,
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

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SUIJI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
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
        Command::Migrate(config) => {
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
            ttl,
            config,
        } => {
            let (secret, _) = config.secret(false)?;
            let token = Authenticator::new(&secret).mint(&sub, role, department.as_deref(), ttl)?;
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            registry,
            file,
            mode,
            dry_run,
            config,
        } => {
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
        Command::Verify { bundle, previous } => Ok(suiji::verify_cmd::run(&bundle, &previous)),
        Command::Audit {
            command: AuditCommand::Verify { config, anchor },
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
            let store = suiji::store::Store::connect(&config.database_url).await?;
            let report = suiji::store::audit::verify_chain(store.pool()).await?;
            let mut contradicted = None;
            for (seq, hash) in &anchors {
                if let Err(reason) =
                    suiji::store::audit::check_anchor(store.pool(), *seq, hash).await?
                {
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
