//! suiji (随机): 双随机、一公开 joint inspections of the medical insurance fund.
//!
//! A guided tour:

/// Admin-only reference data (departments, the official calendar), for the API and the CLI.
pub mod admin;
/// HTTP handlers, one module per resource.
pub mod api;
/// Building and running the service.
pub mod app;
/// Bearer tokens and roles.
pub mod auth;
/// The public blacklist: listing decisions and delisting (issue 15 part 7).
pub mod blacklist;
/// Bulk import and export of the registries (CSV, XLSX).
pub mod bulk;
/// Settings from flags and environment.
/// The clue ledger (举报线索台账, issue 15 part 4).
pub mod clues;
pub mod config;
/// The credit publicity export and its delivery log (issue 15 part 8).
pub mod credit;
/// Validated domain values: codes, registries, the working-day calendar.
pub mod domain;
/// The pure draw engine: the suiji-draw/1 and /2 specifications.
pub mod draw;
/// The one API error type (RFC 9457 problem documents).
pub mod error;
/// After the inspection (issue 15): rectification, referrals, major cases.
pub mod followup;
/// The on-site check form (双随机实地核查表): a printable A4 page, pure rendering.
pub mod form;
/// Record lists (issue 14): upload, read, delete; never public.
pub mod lists;
/// Prometheus metrics at `/metrics`.
pub mod metrics;
/// Objections to published results (异议, issue 15 part 5).
pub mod objections;
/// Organizations (省/市/县) and their jurisdiction: create, update, import a tree.
pub mod organizations;
/// Annual plans (抽查计划) as a library: publication, round tasks, exclusions, progress.
pub mod plans;
/// The public portal: server-rendered HTML pages of published tasks.
pub mod portal;
/// The portal's pages of published annual plans.
pub mod portal_plans;
/// The portal's statistics (SVG charts), institution search and history pages.
pub mod portal_stats;
/// The publication read model: public views built from set-based reads, cached as bytes.
pub mod publication;
/// The registries' rules that need the database (references, unique keys).
pub mod registries;
/// Reports over the lifecycle (what is overdue), for the API and the CLI.
pub mod reports;
/// Statistics: the seed 001 monthly table and submissions (issue 15).
pub mod statistics;
/// All SQL, for SQLite and PostgreSQL.
pub mod store;
/// The task lifecycle as a library: create, commit, seal, reveal, draw, replace, cancel,
/// publish, results. The API and the CLI call it.
pub mod tasks;
/// The browser verifier page `/verify` and its static files.
pub mod verifier;
/// `suiji verify`: check a draw bundle offline.
pub mod verify_cmd;
/// Webhooks: signed, retried notifications of lifecycle events (an outbox and a worker).
pub mod webhooks;
