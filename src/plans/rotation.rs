//! Inspector rotation (轮换, issue 13 point 4), optional per plan: an inspector never joins
//! the team of an institution he inspected in the previous round of the plan or in the
//! previous year. At the seal of a round of a plan with `rotation`, every such pair
//! (institution, inspector) becomes a conflict of that inspector, so it enters the
//! conflicts leaf of that institution (draw-spec B.6): the draw keeps him away exactly as
//! it does for a declared conflict, the `conflicts_root` commits to it, and a public
//! bundle's proofs show it for every drawn institution.
//!
//! Who inspected whom: the teams as drawn with the task's replacements applied in order
//! (the leaving inspector did not inspect, the substitute did), of
//! - the task of the previous round of the plan (round r − 1, drawn: the seal of round r
//!   already requires it), and
//! - every task of the previous calendar year (`year − 1`) that was drawn (drawn,
//!   published or closed), whatever its organization.

use crate::domain::registry::{Conflict, InspectorInput};
use crate::store::tasks as task_store;
use crate::tasks::TaskResult;
use std::collections::{BTreeMap, BTreeSet};

/// The reason a rotation conflict carries (never published: conflicts stay private).
pub const REASON: &str = "轮换：上一轮或上一年度检查过该机构 / rotation";

/// `(institution, inspector)` pairs of a drawn task: its drawn teams with its
/// replacements applied.
pub async fn inspected_pairs(
    conn: &mut sqlx::AnyConnection,
    task_id: &str,
) -> TaskResult<BTreeSet<(String, String)>> {
    let Some(result) = task_store::drawn_result(&mut *conn, task_id).await? else {
        return Ok(BTreeSet::new());
    };
    let mut teams: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for s in result.selections {
        for t in s.team {
            teams.insert((s.institution.clone(), t.department), t.inspectors);
        }
    }
    for r in task_store::replacements(&mut *conn, task_id).await? {
        if let Some(team) = teams.get_mut(&(r.institution.clone(), r.department.clone())) {
            for i in team.iter_mut().filter(|i| **i == r.out) {
                *i = r.r#in.clone();
            }
        }
    }
    Ok(teams
        .into_iter()
        .flat_map(|((institution, _), inspectors)| {
            inspectors
                .into_iter()
                .map(move |i| (institution.clone(), i))
        })
        .collect())
}

/// Adds each pair as a conflict of its inspector (those in the pool; an inspector's
/// declared conflicts stay).
pub fn apply(pairs: &BTreeSet<(String, String)>, inspectors: &mut [Vec<(String, InspectorInput)>]) {
    if pairs.is_empty() {
        return;
    }
    let mut by_inspector: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (institution, inspector) in pairs {
        by_inspector
            .entry(inspector.as_str())
            .or_default()
            .push(institution.as_str());
    }
    for dept in inspectors.iter_mut() {
        for (id, doc) in dept.iter_mut() {
            let Some(institutions) = by_inspector.get(id.as_str()) else {
                continue;
            };
            for x in institutions {
                if !doc.conflicts.iter().any(|c| c.institution == *x) {
                    doc.conflicts.push(Conflict {
                        institution: (*x).to_string(),
                        reason: REASON.to_string(),
                    });
                }
            }
        }
    }
}
