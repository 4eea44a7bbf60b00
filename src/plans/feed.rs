//! Annual plans in the Atom feed (抽查计划公示): one entry when a plan is published and
//! one per amendment, with its reason; each links to the plan's portal page.

use super::store;
use crate::domain::plan::PlanState;
use crate::store::Store;
use crate::tasks::TaskResult;
use atom_syndication::{Entry, FixedDateTime, Link, Text};

/// The feed entries of the published plans (newest `limit` plans by year).
pub async fn entries(db: &Store, base: &str, limit: usize) -> TaskResult<Vec<Entry>> {
    let mut conn = db.read().await?;
    let plans = store::list(&mut *conn, None, Some(PlanState::Published)).await?;
    let mut out = Vec::new();
    for p in plans.into_iter().take(limit) {
        let plan = &p.stored.data;
        let id = &p.stored.id;
        let href = format!("{base}/plans/{id}");
        let link = || Link {
            href: href.clone(),
            rel: "alternate".into(),
            ..Default::default()
        };
        let amendments = store::amendments(&mut *conn, id).await?;
        if let Some(at) = p
            .published_at
            .as_deref()
            .and_then(|s| FixedDateTime::parse_from_rfc3339(s).ok())
        {
            out.push(Entry {
                id: format!("urn:suiji:plan:{id}:published"),
                title: Text::plain(format!("抽查计划公示：{}", plan.title)),
                updated: at,
                links: vec![link()],
                summary: Some(Text::plain(format!(
                    "{} 年度，{} 个工作组，{} 轮；{}",
                    plan.year,
                    plan.groups.len(),
                    plan.rounds.len(),
                    plan.organization
                        .as_deref()
                        .unwrap_or(plan.lead_department.as_str())
                ))),
                ..Default::default()
            });
        }
        for a in amendments {
            let Ok(at) = FixedDateTime::parse_from_rfc3339(&a.at) else {
                continue;
            };
            out.push(Entry {
                id: format!("urn:suiji:plan:{id}:v{}", a.version),
                title: Text::plain(format!(
                    "抽查计划变更（第 {} 版）：{}",
                    a.version, plan.title
                )),
                updated: at,
                links: vec![link()],
                summary: Some(Text::plain(format!("变更理由：{}", a.reason))),
                ..Default::default()
            });
        }
    }
    Ok(out)
}
