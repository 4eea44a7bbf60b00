//! Reads outside a write transaction, as methods on the store, so callers never hold the
//! pool. (The free functions they wrap stay for `api/public.rs` and `portal.rs`, which the
//! publication read model replaces.)

use super::Store;
use super::audit::{self, AuditEntry, AuditFilter, ChainReport};
use super::publication;
use super::records::{self, HistoryEntry, Record, Stored};
use super::registry::{self, InspectorFilter, InstitutionFilter, ItemFilter, Page};
use super::tasks::{self, TaskFilter, TaskRow};
use crate::domain::registry::{Department, InspectorInput, InstitutionInput, ItemInput};
use std::collections::HashMap;

type Listed<T> = Result<(Vec<Stored<T>>, Option<String>), sqlx::Error>;

impl Store {
    pub async fn audit_log(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>, sqlx::Error> {
        audit::list(&self.pool, f).await
    }

    pub async fn verify_audit_chain(&self) -> Result<ChainReport, sqlx::Error> {
        audit::verify_chain(&self.pool).await
    }

    /// Checks a saved chain anchor (`seq` and the entry hash published then) against the
    /// log; `Ok(Err(reason))` when the anchor contradicts it.
    pub async fn check_audit_anchor(
        &self,
        seq: i64,
        hash: &str,
    ) -> Result<Result<(), String>, sqlx::Error> {
        audit::check_anchor(&self.pool, seq, hash).await
    }

    /// The gauges `/metrics` shows: audit chain length, pool size, idle connections.
    pub async fn gauges(&self) -> Result<(i64, u32, usize), sqlx::Error> {
        let chain = super::metrics::audit_chain_length(&self.pool).await?;
        Ok((chain, self.pool.size(), self.pool.num_idle()))
    }

    /// Whether a department with this code is registered.
    pub async fn department_exists(&self, code: &str) -> Result<bool, sqlx::Error> {
        registry::department_exists(&self.pool, code).await
    }

    pub async fn departments(&self) -> Result<Vec<Department>, sqlx::Error> {
        registry::list_departments(&self.pool).await
    }

    pub async fn institutions(
        &self,
        f: &InstitutionFilter,
        page: &Page,
    ) -> Listed<InstitutionInput> {
        registry::list_institutions(&self.pool, f, page).await
    }

    pub async fn inspectors(&self, f: &InspectorFilter, page: &Page) -> Listed<InspectorInput> {
        registry::list_inspectors(&self.pool, f, page).await
    }

    pub async fn items(&self, f: &ItemFilter, page: &Page) -> Listed<ItemInput> {
        registry::list_items(&self.pool, f, page).await
    }

    /// One registry record by id.
    pub async fn record<T: Record>(&self, id: &str) -> Result<Option<Stored<T>>, sqlx::Error> {
        records::get::<T, _>(&self.pool, id).await
    }

    /// Every version of a registry record, oldest first.
    pub async fn history(&self, object: &str, id: &str) -> Result<Vec<HistoryEntry>, sqlx::Error> {
        records::history(&self.pool, object, id).await
    }

    /// A page of tasks after the cursor.
    pub async fn tasks(
        &self,
        f: &TaskFilter,
        after: Option<String>,
        limit: i64,
    ) -> Result<(Vec<TaskRow>, Option<String>), sqlx::Error> {
        tasks::list(&self.pool, f, after, limit).await
    }

    /// Drawn institutions of the task without a published latest result.
    pub async fn unpublished_count(&self, task_id: &str) -> Result<i64, sqlx::Error> {
        publication::unpublished_count(&self.pool, task_id).await
    }

    /// `id → (name, credit code, kind, region)` of the given institutions.
    pub async fn institution_cards(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, (String, String, String, String)>, sqlx::Error> {
        publication::institution_cards(&self.pool, ids).await
    }

    /// `id → (name, certificate number)` of the given inspectors.
    pub async fn inspector_cards(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, (String, String)>, sqlx::Error> {
        publication::inspector_cards(&self.pool, ids).await
    }

    /// Every calendar year an administrator loaded: `(year, JSON)`.
    pub async fn calendar_years(&self) -> Result<Vec<(i64, String)>, sqlx::Error> {
        publication::calendar_years(&self.pool).await
    }
}
