//! Re-check samples (抽查复查) in the lifecycle: which completed inspections a re-check
//! draws from (at seal), and how its results compare with the original ones.
//!
//! The pool of a re-check is the set of institutions with a published result in a task
//! of the source year, led by one of the source departments, belonging to an organization
//! strictly below the re-checking one and within its region (and the optional region
//! prefixes), not itself a re-check. Each stratum's filter still applies; an institution
//! inspected several times is taken once, for its latest published inspection.

use super::{TaskError, TaskResult};
use crate::domain::recheck::{Verdict, verdict};
use crate::domain::result::ResultCategory;
use crate::domain::task::TaskInput;
use crate::store::recheck::{self as store, Completed};
use crate::store::{Store, Tx};
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

/// A re-check is made by a level above the inspections it re-checks: a city, a province
/// (or the national level), never a county.
pub fn check_level(cfg: &TaskInput) -> TaskResult<()> {
    let region = cfg.organization_region.as_deref().unwrap_or("");
    if region.len() >= 6 {
        return Err(TaskError::field(
            "organization",
            format!(
                "a re-check (抽查复查) is made by a higher level (city or province); organization {} is a county ({region})",
                cfg.organization.as_deref().unwrap_or("")
            ),
        ));
    }
    Ok(())
}

/// The completed inspections the re-check draws from, by institution.
pub async fn completed(tx: &mut Tx, cfg: &TaskInput) -> TaskResult<HashMap<String, Completed>> {
    let Some(src) = &cfg.recheck else {
        return Ok(HashMap::new());
    };
    let own = cfg.organization_region.clone().unwrap_or_default();
    let leads = src.lead_departments(&cfg.lead_department);
    let mut by_institution: HashMap<String, Completed> = HashMap::new();
    for (_, task, results) in store::completed_in_year(tx, src.year).await? {
        let region = task.organization_region.clone().unwrap_or_default();
        let below = region.len() > own.len() && region.starts_with(&own);
        if !below || task.is_recheck() || !leads.contains(&task.lead_department) {
            continue;
        }
        for r in results {
            let in_scope = r.region.starts_with(&own)
                && (src.region_prefix.is_empty()
                    || src.region_prefix.iter().any(|p| r.region.starts_with(p)));
            if !in_scope {
                continue;
            }
            match by_institution.get(&r.institution_id) {
                Some(prev) if prev.published_at >= r.published_at => {}
                _ => {
                    by_institution.insert(r.institution_id.clone(), r);
                }
            }
        }
    }
    if by_institution.is_empty() {
        return Err(TaskError::field(
            "recheck",
            format!(
                "no completed inspection (published result) of {} by a level below this organization matches; nothing to re-check",
                src.year
            ),
        ));
    }
    Ok(by_institution)
}

/// One re-checked institution: the original result, the re-check's, and the verdict.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecheckLine {
    pub institution: String,
    /// The task and result version of the original inspection.
    pub original_task: String,
    pub original_version: i64,
    pub original_category: ResultCategory,
    /// The re-check's latest published result, if any.
    pub recheck_version: Option<i64>,
    pub recheck_category: Option<ResultCategory>,
    pub verdict: Verdict,
    pub verdict_zh: String,
    /// Fund to recover found by the re-check minus by the original (fen).
    pub fund_recovered_difference_fen: Option<i64>,
}

/// Counts per verdict.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct VerdictCounts {
    pub pending: u64,
    pub confirmed: u64,
    pub agreed_clean: u64,
    pub missed: u64,
    pub overturned: u64,
    pub not_comparable: u64,
}

/// The comparison of a re-check with the inspections it re-checked.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecheckReport {
    pub task_id: String,
    /// Completed inspections in the sealed pool, and how many were drawn.
    pub pool: u64,
    pub drawn: u64,
    pub counts: VerdictCounts,
    pub items: Vec<RecheckLine>,
}

/// Compares each drawn institution's re-check result with its original result.
pub async fn report(db: &Store, task_id: &str) -> TaskResult<RecheckReport> {
    let task = super::get(db, task_id).await?;
    if !task.config.is_recheck() {
        return Err(TaskError::NotFound(format!(
            "task {task_id} is not a re-check"
        )));
    }
    let mut conn = db.read().await?;
    let sources = store::sources(&mut *conn, task_id).await?;
    let selections = store::drawn(&mut *conn, task_id).await?;
    let mine = latest_published(crate::store::publication::results(&mut *conn, task_id).await?);
    let mut counts = VerdictCounts::default();
    let mut items = Vec::new();
    for inst in &selections {
        let Some((_, src_task, src_version)) = sources.iter().find(|s| &s.0 == inst) else {
            continue;
        };
        let originals = crate::store::publication::results(&mut *conn, src_task).await?;
        let Some(original) = originals
            .iter()
            .find(|r| &r.institution_id == inst && r.version == *src_version)
        else {
            continue;
        };
        let re = mine.get(inst);
        let v = verdict(original.data.category, re.map(|r| r.data.category));
        match v {
            Verdict::Pending => counts.pending += 1,
            Verdict::Confirmed => counts.confirmed += 1,
            Verdict::AgreedClean => counts.agreed_clean += 1,
            Verdict::Missed => counts.missed += 1,
            Verdict::Overturned => counts.overturned += 1,
            Verdict::NotComparable => counts.not_comparable += 1,
        }
        items.push(RecheckLine {
            institution: inst.clone(),
            original_task: src_task.clone(),
            original_version: *src_version,
            original_category: original.data.category,
            recheck_version: re.map(|r| r.version),
            recheck_category: re.map(|r| r.data.category),
            verdict: v,
            verdict_zh: v.label_zh().to_string(),
            fund_recovered_difference_fen: re.map(|r| {
                r.data.amounts.fund_recovered_fen - original.data.amounts.fund_recovered_fen
            }),
        });
    }
    Ok(RecheckReport {
        task_id: task_id.to_string(),
        pool: sources.len() as u64,
        drawn: selections.len() as u64,
        counts,
        items,
    })
}

fn latest_published(
    rows: Vec<crate::store::publication::ResultRow>,
) -> HashMap<String, crate::store::publication::ResultRow> {
    let mut out: HashMap<String, crate::store::publication::ResultRow> = HashMap::new();
    for r in rows.into_iter().filter(|r| r.published_at.is_some()) {
        match out.get(&r.institution_id) {
            Some(prev) if prev.version >= r.version => {}
            _ => {
                out.insert(r.institution_id.clone(), r);
            }
        }
    }
    out
}
