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
    /// Print the OpenAPI document this build serves.
    Openapi,
    /// Check a draw bundle offline: recompute the draw from its snapshot and entropy.
    /// Exit 0 when consistent, 1 at the first difference, 2 on unreadable input.
    Verify {
        /// The bundle file (`-` reads standard input).
        bundle: std::path::PathBuf,
    },
    /// Audit-log commands.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recheck the audit hash chain in the database; exit 1 at the first broken link.
    Verify(Config),
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
        Command::Openapi => {
            print!("{}", suiji::api::openapi_yaml());
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { bundle } => Ok(suiji::verify_cmd::run(&bundle)),
        Command::Audit {
            command: AuditCommand::Verify(config),
        } => runtime()?.block_on(async {
            let store = suiji::store::Store::connect(&config.database_url).await?;
            let report = suiji::store::audit::verify_chain(store.pool()).await?;
            store.close().await;
            match report.first_broken {
                None => {
                    println!(
                        "audit chain intact: {} entries, head {}",
                        report.entries, report.head
                    );
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
