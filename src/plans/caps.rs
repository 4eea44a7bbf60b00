//! The yearly cap per institution across tasks (issue 13 point 4): "at most 2 random
//! inspections of one institution per level per year, 4 in all". Applied at every
//! suiji-draw/2 seal (plan rounds and standalone tasks alike): an institution that the
//! year's earlier drawn random tasks already took as often as the cap allows is left out
//! of the pool and recorded as a /2 exclusion with `basis: "yearly_cap"`, once under each
//! earlier task that drew it (its id and result hash), so `suiji verify --previous` proves
//! it was really drawn there (draw-spec B.7.1).
//!
//! Configuration: `SUIJI_YEARLY_CAP` (or `--yearly-cap`), e.g. `level=2,total=4`: at
//! most 2 random inspections by tasks of the same organization level (national, province,
//! city, county: the task's organization) and at most 4 in all, per calendar year (the
//! tasks' `year`). Either part may be left out; empty (the default) or `off`: no cap.

use crate::domain::task::{Protocol, TaskInput};
use crate::draw::v2::{BASIS_YEARLY_CAP, Exclusion};
use crate::store::Tx;
use crate::store::tasks::TaskRow;
use crate::tasks::TaskResult;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The configured cap; both parts `None`: no cap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct YearlyCap {
    /// Random inspections of one institution per year by tasks of one level.
    pub per_level: Option<u32>,
    /// Random inspections of one institution per year in all.
    pub total: Option<u32>,
}

impl YearlyCap {
    pub fn is_off(&self) -> bool {
        self.per_level.is_none() && self.total.is_none()
    }

    /// Parses `level=N,total=N` (either part optional, N from 1 to 100), `""` or `off`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let mut cap = YearlyCap::default();
        if s.is_empty() || s == "off" {
            return Ok(cap);
        }
        for part in s.split(',') {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("'{part}': expected level=N or total=N"))?;
            let n: u32 = value
                .trim()
                .parse()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| format!("'{part}': N must be a whole number from 1 to 100"))?;
            let slot = match key.trim() {
                "level" => &mut cap.per_level,
                "total" => &mut cap.total,
                other => {
                    return Err(format!(
                        "'{other}' is not one of: level, total (e.g. level=2,total=4)"
                    ));
                }
            };
            if slot.replace(n).is_some() {
                return Err(format!("'{}' given twice", key.trim()));
            }
        }
        Ok(cap)
    }
}

impl std::str::FromStr for YearlyCap {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s)
    }
}

impl std::fmt::Display for YearlyCap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(n) = self.per_level {
            parts.push(format!("level={n}"));
        }
        if let Some(n) = self.total {
            parts.push(format!("total={n}"));
        }
        if parts.is_empty() {
            f.write_str("off")
        } else {
            f.write_str(&parts.join(","))
        }
    }
}

/// Whether a task is a random inspection (双随机) of institutions that the yearly cap
/// counts and limits. Targeted (定向) tasks, re-checks (复查) and samples of record lists
/// are exempt: they neither count toward the cap nor are limited by it. So are the tasks
/// recorded as verifying a rectification (整改核查, see [`seal_caps`]); a verification task
/// is best made as a targeted task naming the institution, which is exempt from the start.
pub fn counts_toward_cap(task: &TaskInput) -> bool {
    task.is_random() && task.list.is_none()
}

/// The level of a task's organization, from the length of its region prefix.
pub fn level(task: &TaskInput) -> &'static str {
    match task.organization_region.as_deref().unwrap_or("").len() {
        0 => "national",
        2 => "province",
        4 => "city",
        _ => "county",
    }
}

/// A drawn random task of the year: its id, result hash, level and drawn institutions.
#[derive(Debug, Clone)]
pub struct EarlierDraw {
    pub task: String,
    pub result_hash: String,
    pub level: &'static str,
    pub institutions: Vec<String>,
}

/// The exclusions the cap makes for a task of `level`: the institutions that reached it
/// (as often at that level as `per_level`, or as often in all as `total`), each listed
/// under every earlier draw that took it; sorted by task, institutions sorted.
pub fn cap_exclusions(cap: &YearlyCap, level: &str, earlier: &[EarlierDraw]) -> Vec<Exclusion> {
    if cap.is_off() {
        return Vec::new();
    }
    let mut total: HashMap<&str, u32> = HashMap::new();
    let mut same_level: HashMap<&str, u32> = HashMap::new();
    for e in earlier {
        for i in &e.institutions {
            *total.entry(i).or_default() += 1;
            if e.level == level {
                *same_level.entry(i).or_default() += 1;
            }
        }
    }
    let reached = |i: &str| {
        cap.total
            .is_some_and(|n| total.get(i).copied().unwrap_or(0) >= n)
            || cap
                .per_level
                .is_some_and(|n| same_level.get(i).copied().unwrap_or(0) >= n)
    };
    let mut by_task: BTreeMap<&str, Exclusion> = BTreeMap::new();
    for e in earlier {
        let mut institutions: Vec<String> = e
            .institutions
            .iter()
            .filter(|i| reached(i))
            .cloned()
            .collect();
        if institutions.is_empty() {
            continue;
        }
        institutions.sort();
        institutions.dedup();
        by_task.insert(
            &e.task,
            Exclusion {
                task: e.task.clone(),
                result_hash: e.result_hash.clone(),
                institutions,
                basis: Some(BASIS_YEARLY_CAP.into()),
            },
        );
    }
    by_task.into_values().collect()
}

/// Joins a plan round's exclusions (every institution of each earlier round) with the
/// cap's: one exclusion per task (the round's, which lists all that task drew, when
/// both name it), sorted by task.
pub fn merge(round: Vec<Exclusion>, caps: Vec<Exclusion>) -> Vec<Exclusion> {
    let mut by_task: BTreeMap<String, Exclusion> = BTreeMap::new();
    for e in caps {
        by_task.insert(e.task.clone(), e);
    }
    for e in round {
        by_task.insert(e.task.clone(), e);
    }
    by_task.into_values().collect()
}

/// The seal hook (`tasks::seal` calls it under its transaction, after a plan round's
/// own exclusions): for a /2 random task with a cap configured, removes from
/// `candidates` the institutions that reached the cap this year and answers their
/// exclusions. Nothing for /1 tasks (their snapshot has no exclusions) and exempt kinds.
pub async fn seal_caps(
    tx: &mut Tx,
    cap: &YearlyCap,
    task: &TaskRow,
    candidates: &mut [Vec<(String, String)>],
) -> TaskResult<Vec<Exclusion>> {
    if cap.is_off() || task.config.protocol() != Protocol::V2 || !counts_toward_cap(&task.config) {
        return Ok(Vec::new());
    }
    let rows = crate::store::plans::year_selections(&mut **tx, task.config.year, &task.id).await?;
    let mut earlier: Vec<EarlierDraw> = Vec::new();
    for (task_id, institution) in rows {
        if earlier.last().is_none_or(|e| e.task != task_id) {
            let Some(row) = crate::store::tasks::get(&mut **tx, &task_id).await? else {
                continue;
            };
            let Some(result_hash) = row.result_hash.clone() else {
                continue;
            };
            if !counts_toward_cap(&row.config)
                || crate::store::followup::is_verification_task(&mut **tx, &task_id).await?
            {
                // Exempt: a placeholder that the next rows skip.
                earlier.push(EarlierDraw {
                    task: task_id,
                    result_hash: String::new(),
                    level: "",
                    institutions: Vec::new(),
                });
                continue;
            }
            earlier.push(EarlierDraw {
                task: task_id,
                result_hash,
                level: level(&row.config),
                institutions: Vec::new(),
            });
        }
        if let Some(e) = earlier.last_mut()
            && !e.level.is_empty()
        {
            e.institutions.push(institution);
        }
    }
    earlier.retain(|e| !e.level.is_empty());
    let exclusions = cap_exclusions(cap, level(&task.config), &earlier);
    let excluded: HashSet<&String> = exclusions.iter().flat_map(|e| &e.institutions).collect();
    if !excluded.is_empty() {
        for c in candidates.iter_mut() {
            c.retain(|(id, _)| !excluded.contains(id));
        }
    }
    Ok(exclusions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_random_inspections_of_institutions_count_toward_the_cap() {
        let task = |extra: serde_json::Value| {
            let mut t = serde_json::json!({
                "title": "t", "year": 2026, "round": 1,
                "lead_department": "medical_insurance",
                "departments": [{"code": "medical_insurance", "team_size": 2}],
                "strata": [], "cross_region": false, "max_assignments_per_inspector": null,
                "inspection_start": "2026-08-03", "inspection_end": "2026-08-31",
                "entropy_plan": []
            });
            for (k, v) in extra.as_object().unwrap() {
                t[k] = v.clone();
            }
            serde_json::from_value::<TaskInput>(t).unwrap()
        };
        assert!(counts_toward_cap(&task(serde_json::json!({}))));
        assert!(counts_toward_cap(&task(
            serde_json::json!({"mode": "random"})
        )));
        assert!(!counts_toward_cap(&task(
            serde_json::json!({"mode": "targeted"})
        )));
        assert!(!counts_toward_cap(&task(
            serde_json::json!({"mode": "recheck"})
        )));
        assert!(!counts_toward_cap(&task(serde_json::json!({"list": "l1"}))));
    }

    fn draw(task: &str, level: &'static str, ids: &[&str]) -> EarlierDraw {
        EarlierDraw {
            task: task.into(),
            result_hash: "00".repeat(32),
            level,
            institutions: ids.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn the_configuration_reads_levels_and_totals_and_refuses_the_rest() {
        assert!(YearlyCap::parse("").unwrap().is_off());
        assert!(YearlyCap::parse("off").unwrap().is_off());
        let c = YearlyCap::parse("level=2,total=4").unwrap();
        assert_eq!((c.per_level, c.total), (Some(2), Some(4)));
        assert_eq!(c.to_string(), "level=2,total=4");
        assert_eq!(YearlyCap::parse("total=3").unwrap().per_level, None);
        for bad in ["level=0", "level=x", "year=2", "level=2,level=3", "2"] {
            assert!(YearlyCap::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_institution_at_its_cap_is_excluded_under_every_draw_that_took_it() {
        let cap = YearlyCap::parse("level=2,total=3").unwrap();
        let earlier = [
            draw("t1", "county", &["a", "b"]),
            draw("t2", "county", &["a", "c"]),
            draw("t3", "city", &["b", "c"]),
            draw("t4", "city", &["c"]),
        ];
        // County: a twice at county level; c three times in all; b once per level.
        let ex = cap_exclusions(&cap, "county", &earlier);
        let listed: Vec<(&str, Vec<&str>)> = ex
            .iter()
            .map(|e| {
                (
                    e.task.as_str(),
                    e.institutions.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            listed,
            [
                ("t1", vec!["a"]),
                ("t2", vec!["a", "c"]),
                ("t3", vec!["c"]),
                ("t4", vec!["c"])
            ]
        );
        assert!(ex.iter().all(|e| e.basis.as_deref() == Some("yearly_cap")));
        // Province: nobody reached 2 at province level; c reached the total.
        let ex = cap_exclusions(&cap, "province", &earlier);
        assert!(ex.iter().all(|e| e.institutions == ["c"]), "{ex:?}");
        assert!(cap_exclusions(&YearlyCap::default(), "county", &earlier).is_empty());
    }

    #[test]
    fn a_round_exclusion_wins_over_a_cap_exclusion_of_the_same_task() {
        let round = vec![Exclusion {
            task: "t2".into(),
            result_hash: "h".into(),
            institutions: vec!["a".into(), "c".into(), "d".into()],
            basis: None,
        }];
        let caps = cap_exclusions(
            &YearlyCap::parse("total=1").unwrap(),
            "county",
            &[draw("t1", "county", &["x"]), draw("t2", "county", &["a"])],
        );
        let m = merge(round, caps);
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].task.as_str(), m[0].basis.is_some()), ("t1", true));
        assert_eq!((m[1].task.as_str(), m[1].institutions.len()), ("t2", 3));
    }
}
