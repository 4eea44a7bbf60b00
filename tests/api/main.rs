//! Integration tests: the real service over HTTP against a real database.
//! `TEST_DATABASE_URL=postgres://…` runs them on PostgreSQL, otherwise on SQLite.

mod bulk;
#[path = "../support/chromium.rs"]
mod chromium;
mod crash;
mod draw2;
mod golden;
mod hardening;
mod helpers;
mod nodes;
mod observability;
mod openapi;
mod plans;
mod portal;
mod publication;
mod regions;
mod registries;
mod tasks;
