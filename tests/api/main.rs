//! Integration tests: the real service over HTTP against a real database.
//! `TEST_DATABASE_URL=postgres://…` runs them on PostgreSQL, otherwise on SQLite.

mod after;
mod bulk;
#[path = "../support/chromium.rs"]
mod chromium;
mod clues;
mod crash;
mod dispatch;
mod draw2;
mod evidence;
mod golden;
mod hardening;
mod helpers;
mod joint;
mod lists;
mod nodes;
mod observability;
mod openapi;
mod orgs;
mod plans;
mod portal;
mod publication;
mod recheck;
mod regions;
mod registries;
mod samples;
mod stats;
mod targeted;
mod tasks;
mod team_ranges;
mod tree_samples;
mod webhooks;
