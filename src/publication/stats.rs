//! Public statistics and the public institution search (issue 15 part 7), over the read
//! model: only public tasks and published result versions count. The portal's
//! `/statistics` page and `GET /public/v1/statistics` both call [`Publication::statistics`],
//! so the page, the JSON and the charts show the same numbers; problems found and funds
//! recovered are counted by the same rule as the authenticated summary
//! (`statistics::Figures`), so they equal its columns 2, 3 and 15 on the same published data.

use super::Publication;
use crate::domain::calendar::Calendar;
use crate::domain::regions::RegionNames;
use crate::domain::result::china_date;
use crate::domain::targeted::TaskMode;
use crate::domain::task::TaskInput;
use crate::error::ApiError;
use crate::statistics::Figures;
use crate::store::public_stats::{self, StatRow};
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use utoipa::ToSchema;

/// Years the statistics accept.
pub const YEARS: std::ops::RangeInclusive<i64> = 2000..=2100;
/// Hits per page of the institution search unless `limit` says otherwise, and the most.
pub const SEARCH_PAGE: i64 = 20;
pub const SEARCH_MAX_PAGE: i64 = 100;
/// Characters of a search term, at most.
pub const SEARCH_MAX_CHARS: usize = 64;

/// One line of the public statistics. Money in fen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = PublicStatsFigures)]
pub struct PublicStatsFigures {
    /// Inspections with a published result whose inspection date is in the year (the
    /// summary's column 2 on published data).
    pub inspections: i64,
    /// Of which drawn at random (双随机抽查).
    pub random: i64,
    /// Of which targeted (定向检查: institutions named with a reason).
    pub targeted: i64,
    /// Of which re-checks (抽查复查, drawn at random from earlier results).
    pub recheck: i64,
    /// Results finding a problem (the summary's column 3).
    pub problems_found: i64,
    /// Funds recovered including liquidated damages (追回金额, the summary's column 15).
    pub funds_recovered_fen: i64,
    /// Of which fund principal (医保统筹基金, column 16).
    pub fund_principal_fen: i64,
    /// Administrative penalties (column 18).
    pub penalty_fen: i64,
    /// Tasks of the year whose results here were all first published by their deadline.
    pub tasks_on_time: i64,
    /// Tasks of the year with a result here published after the deadline, or still
    /// unpublished once it passed.
    pub tasks_late: i64,
    /// Tasks of the year not judged yet (deadline not passed and results outstanding, or
    /// the calendar of the deadline's year not loaded).
    pub tasks_pending: i64,
    /// tasks_on_time / (tasks_on_time + tasks_late), 4 decimals; null when none is judged.
    pub on_time_share: Option<String>,
}

/// The figures of one subordinate division.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = PublicStatsRegion)]
pub struct PublicStatsRegion {
    /// Division code (2, 4 or 6 digits: one level below the asked prefix).
    pub region: String,
    /// Its name, or the code when it has none.
    pub name: String,
    pub figures: PublicStatsFigures,
}

/// The public statistics of a year and a region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = PublicStatistics)]
pub struct PublicStatistics {
    pub year: i64,
    /// The region prefix asked (empty: everywhere).
    pub region_prefix: String,
    pub region_name: String,
    /// The day lateness is judged on (China time).
    #[schema(value_type = String, format = Date)]
    pub as_of: NaiveDate,
    /// One line per division one level below the prefix that has any public inspection.
    pub regions: Vec<PublicStatsRegion>,
    pub total: PublicStatsFigures,
}

/// How a task's results in a scope went against their deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timely {
    OnTime,
    Late,
    Pending,
}

/// What publication timeliness needs of a task's results in a scope: the latest first
/// publication, and whether any result is still unpublished (bounded by the number of
/// tasks, not of results).
#[derive(Debug, Clone, Copy, Default)]
struct Firsts {
    latest: Option<NaiveDate>,
    unpublished: bool,
}

impl Firsts {
    fn push(&mut self, first: Option<NaiveDate>) {
        match first {
            Some(d) => self.latest = self.latest.max(Some(d)),
            None => self.unpublished = true,
        }
    }
}

fn judge(due: Option<NaiveDate>, today: NaiveDate, firsts: Firsts) -> Timely {
    let Some(due) = due else {
        return Timely::Pending;
    };
    if firsts.latest.is_some_and(|d| d > due) {
        return Timely::Late;
    }
    if !firsts.unpublished {
        return Timely::OnTime;
    }
    if today > due {
        Timely::Late
    } else {
        Timely::Pending
    }
}

#[derive(Default)]
struct Acc {
    figures: Figures,
    random: i64,
    targeted: i64,
    recheck: i64,
    /// Per task of the year: the first publications of its results in this scope.
    tasks: BTreeMap<String, Firsts>,
}

impl Acc {
    fn finish(
        self,
        due: &HashMap<&str, Option<NaiveDate>>,
        today: NaiveDate,
    ) -> PublicStatsFigures {
        let (mut on_time, mut late, mut pending) = (0, 0, 0);
        for (task, firsts) in &self.tasks {
            match judge(due.get(task.as_str()).copied().flatten(), today, *firsts) {
                Timely::OnTime => on_time += 1,
                Timely::Late => late += 1,
                Timely::Pending => pending += 1,
            }
        }
        let judged = on_time + late;
        PublicStatsFigures {
            inspections: self.figures.c2_inspected,
            random: self.random,
            targeted: self.targeted,
            recheck: self.recheck,
            problems_found: self.figures.c3_violating,
            funds_recovered_fen: self.figures.c15_recovered_fen,
            fund_principal_fen: self.figures.c16_principal_fen,
            penalty_fen: self.figures.c18_penalty_fen,
            tasks_on_time: on_time,
            tasks_late: late,
            tasks_pending: pending,
            on_time_share: (judged > 0).then(|| format!("{:.4}", on_time as f64 / judged as f64)),
        }
    }
}

/// The statistics of `year` in `prefix`, added up one drawn row at a time as the store
/// streams them. Pure.
pub struct Tally {
    year: i64,
    level: usize,
    split: bool,
    total: Acc,
    by_region: BTreeMap<String, Acc>,
}

impl Tally {
    pub fn new(year: i64, prefix: &str) -> Self {
        Self {
            year,
            level: (prefix.len() + 2).min(6),
            split: prefix.len() < 6,
            total: Acc::default(),
            by_region: BTreeMap::new(),
        }
    }

    /// One drawn institution of a public task, with its current published result.
    pub fn add(&mut self, row: &StatRow, task: &TaskInput) {
        let sub = row.region.get(..self.level).unwrap_or(&row.region);
        let first = row.first_published_at.as_deref().and_then(china_date);
        if i64::from(task.year) == self.year {
            self.total
                .tasks
                .entry(row.task_id.clone())
                .or_default()
                .push(first);
            if self.split {
                self.by_region
                    .entry(sub.to_string())
                    .or_default()
                    .tasks
                    .entry(row.task_id.clone())
                    .or_default()
                    .push(first);
            }
        }
        let Some(result) = &row.current else {
            return;
        };
        if i64::from(result.inspection_date.year()) != self.year {
            return;
        }
        let mode = task.mode();
        let region = if self.split {
            Some(self.by_region.entry(sub.to_string()).or_default())
        } else {
            None
        };
        for acc in [Some(&mut self.total), region].into_iter().flatten() {
            acc.figures.add_result(result, true);
            match mode {
                TaskMode::Random => acc.random += 1,
                TaskMode::Targeted => acc.targeted += 1,
                TaskMode::Recheck => acc.recheck += 1,
            }
        }
    }

    /// The figures, with each task of the year judged on time, late or pending against
    /// its results deadline on the official calendar.
    pub fn finish(
        self,
        tasks: &HashMap<String, TaskInput>,
        calendar: &Calendar,
        today: NaiveDate,
        prefix: &str,
        names: &RegionNames,
    ) -> PublicStatistics {
        let due: HashMap<&str, Option<NaiveDate>> = tasks
            .iter()
            .map(|(id, cfg)| {
                (
                    id.as_str(),
                    super::view::deadlines(calendar, cfg).results_due,
                )
            })
            .collect();
        PublicStatistics {
            year: self.year,
            region_prefix: prefix.to_string(),
            region_name: if prefix.is_empty() {
                "全国".to_string()
            } else {
                names.label(prefix)
            },
            as_of: today,
            regions: self
                .by_region
                .into_iter()
                .map(|(region, acc)| PublicStatsRegion {
                    name: names.label(&region),
                    figures: acc.finish(&due, today),
                    region,
                })
                .collect(),
            total: self.total.finish(&due, today),
        }
    }
}

/// A region prefix as the statistics take it: empty, or 2, 4 or 6 digits.
pub fn parse_region_prefix(raw: Option<&str>) -> Result<String, ApiError> {
    let p = raw.unwrap_or_default();
    if p.is_empty()
        || (p.len() <= 6 && p.len().is_multiple_of(2) && p.bytes().all(|b| b.is_ascii_digit()))
    {
        Ok(p.to_string())
    } else {
        Err(ApiError::field(
            "region_prefix",
            "must be 2, 4 or 6 digits of a division code",
        ))
    }
}

/// One institution found by the public search.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = PublicInstitutionHit)]
pub struct PublicInstitutionHit {
    pub id: String,
    pub name: String,
    pub credit_code: String,
    pub region: String,
    pub kind: String,
    /// Published tasks that drew it.
    pub inspections: i64,
    /// Its public history: `/public/v1/institutions/{id}/history` (the portal's page is
    /// `/institutions/{id}`).
    pub history: String,
}

/// A page of the public institution search.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = PublicInstitutionSearch)]
pub struct PublicInstitutionSearch {
    pub q: String,
    pub items: Vec<PublicInstitutionHit>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// A search term: at most 64 characters, no control character, not blank; searched
/// without the blanks around it.
pub fn search_term(raw: Option<&str>) -> Result<String, ApiError> {
    let raw = raw.unwrap_or_default();
    if raw.chars().count() > SEARCH_MAX_CHARS {
        return Err(ApiError::field(
            "q",
            format!("must be at most {SEARCH_MAX_CHARS} characters"),
        ));
    }
    if raw.chars().any(char::is_control) {
        return Err(ApiError::field("q", "must not contain control characters"));
    }
    let q = raw.trim();
    if q.is_empty() {
        return Err(ApiError::field("q", "must not be empty"));
    }
    Ok(q.to_string())
}

/// The pattern of `q` as [`search_term`] takes it (with `maxLength` 64).
pub const SEARCH_PATTERN: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$";

/// The search's cursor: the last hit's id (a UUID) of the previous page.
pub(crate) fn search_cursor(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    match raw {
        None => Ok(None),
        Some(c) if uuid::Uuid::parse_str(c).is_ok() => Ok(Some(c.to_string())),
        Some(_) => Err(ApiError::field(
            "cursor",
            "not a cursor returned by a previous page",
        )),
    }
}

impl Publication {
    /// The public statistics of `year` (default: this year) in `region_prefix`.
    pub async fn statistics(
        &self,
        year: Option<i64>,
        region_prefix: Option<&str>,
    ) -> Result<PublicStatistics, ApiError> {
        let today = self.store.clock().china_today();
        let year = year.unwrap_or_else(|| i64::from(today.year()));
        if !YEARS.contains(&year) {
            return Err(ApiError::field(
                "year",
                format!("must be between {} and {}", YEARS.start(), YEARS.end()),
            ));
        }
        let prefix = parse_region_prefix(region_prefix)?;
        let mut tally = Tally::new(year, &prefix);
        let tasks =
            public_stats::statistics(&self.store, &prefix, |row, task| tally.add(&row, task))
                .await?;
        let names = self.region_names().await?;
        Ok(tally.finish(&tasks, &self.calendar(), today, &prefix, &names))
    }

    /// Institutions a published task drew, by name (substring) or credit code (exact).
    pub async fn search_institutions(
        &self,
        q: Option<&str>,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<PublicInstitutionSearch, ApiError> {
        let q = search_term(q)?;
        let limit = match limit {
            None => SEARCH_PAGE,
            Some(n) if (1..=SEARCH_MAX_PAGE).contains(&n) => n,
            Some(_) => {
                return Err(ApiError::field(
                    "limit",
                    format!("must be between 1 and {SEARCH_MAX_PAGE}"),
                ));
            }
        };
        let after_id = search_cursor(cursor)?;
        // The cursor names the last hit; its name orders the page after it.
        let after = match &after_id {
            None => None,
            Some(id) => match public_stats::institution_name(&self.store, id).await? {
                Some(name) => Some((name, id.clone())),
                None => {
                    return Err(ApiError::field(
                        "cursor",
                        "not a cursor returned by a previous page",
                    ));
                }
            },
        };
        let mut rows = public_stats::search_institutions(
            &self.store,
            &q,
            after.as_ref().map(|(n, i)| (n.as_str(), i.as_str())),
            limit,
        )
        .await?;
        let next_cursor = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last().map(|r| r.id.clone())
        } else {
            None
        };
        Ok(PublicInstitutionSearch {
            q,
            items: rows
                .into_iter()
                .map(|r| PublicInstitutionHit {
                    history: format!("/public/v1/institutions/{}/history", r.id),
                    id: r.id,
                    name: r.name,
                    credit_code: r.credit_code,
                    region: r.region,
                    kind: r.kind,
                    inspections: r.inspections,
                })
                .collect(),
            next_cursor,
        })
    }
}

/// Entries of the public blacklist served at most (the list is short by nature).
pub const BLACKLIST_MAX: i64 = 10_000;

/// An institution on the public blacklist (黑名单).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = PublicBlacklistEntry)]
pub struct PublicBlacklistEntry {
    pub id: String,
    pub institution_id: String,
    pub institution_name: String,
    pub credit_code: String,
    pub region: String,
    /// What the published result shows (解除协议, 行政处罚 …).
    pub grounds: Vec<String>,
    pub reason: String,
    pub decision_number: String,
    #[schema(value_type = String, format = Date)]
    pub listed_on: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub until: NaiveDate,
    /// The published task and result version the listing rests on.
    pub task_id: String,
    pub result_version: i64,
}

/// The public blacklist on `as_of`: listed, started, not ended, not delisted.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = PublicBlacklist)]
pub struct PublicBlacklist {
    #[schema(value_type = String, format = Date)]
    pub as_of: NaiveDate,
    pub items: Vec<PublicBlacklistEntry>,
}

impl Publication {
    /// The institutions on the blacklist today, newest decision first.
    pub async fn blacklist(&self) -> Result<PublicBlacklist, ApiError> {
        let today = self.store.clock().china_today();
        let rows = crate::store::blacklist::list(
            &mut *self.store.read().await?,
            Some(&today.to_string()),
            BLACKLIST_MAX,
        )
        .await?;
        Ok(PublicBlacklist {
            as_of: today,
            items: rows
                .into_iter()
                .filter(|e| e.data.active_on(today))
                .map(|e| PublicBlacklistEntry {
                    id: e.id,
                    institution_id: e.data.institution_id,
                    institution_name: e.data.institution_name,
                    credit_code: e.data.credit_code,
                    region: e.data.region,
                    grounds: e.data.grounds,
                    reason: e.data.reason,
                    decision_number: e.data.decision_number,
                    listed_on: e.data.listed_on,
                    until: e.data.until,
                    task_id: e.data.task_id,
                    result_version: e.data.result_version,
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn firsts(dates: &[Option<NaiveDate>]) -> Firsts {
        let mut f = Firsts::default();
        for d in dates {
            f.push(*d);
        }
        f
    }

    #[test]
    fn a_task_is_on_time_late_or_pending() {
        let due = Some(d("2023-09-28"));
        let today = d("2023-09-20");
        assert_eq!(
            judge(due, today, firsts(&[Some(d("2023-09-28"))])),
            Timely::OnTime
        );
        assert_eq!(
            judge(
                due,
                today,
                firsts(&[Some(d("2023-09-01")), Some(d("2023-09-29"))])
            ),
            Timely::Late
        );
        // Outstanding before the deadline: not judged; after it: late.
        assert_eq!(
            judge(due, today, firsts(&[Some(d("2023-09-01")), None])),
            Timely::Pending
        );
        assert_eq!(judge(due, d("2023-09-29"), firsts(&[None])), Timely::Late);
        // No calendar for the deadline: never guessed.
        assert_eq!(judge(None, today, firsts(&[None])), Timely::Pending);
    }

    #[test]
    fn region_prefixes_are_empty_or_2_4_6_digits() {
        assert_eq!(parse_region_prefix(None).unwrap(), "");
        assert_eq!(parse_region_prefix(Some("1506")).unwrap(), "1506");
        assert!(parse_region_prefix(Some("150")).is_err());
        assert!(parse_region_prefix(Some("15060201")).is_err());
        assert!(search_term(Some("")).is_err());
        assert!(search_term(Some(&"药".repeat(65))).is_err());
        assert_eq!(search_term(Some(" 药房 ")).unwrap(), "药房");
    }
}
