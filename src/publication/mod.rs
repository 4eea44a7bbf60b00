//! The publication read model: everything the public sees (`/public/v1`, the portal,
//! `results.csv`, the Atom feed, an institution's history), built from set-based store
//! queries (`store::read_model`), each view in one read transaction, and cached as bytes
//! until the next write ([`cache`]). The API's public handlers and the portal are thin
//! adapters over this module; it depends on neither.

pub mod cache;
pub mod coordinator;
pub mod form;
pub mod stats;
pub mod view;

use crate::domain::DepartmentCode;
use crate::domain::calendar::Calendar;
use crate::domain::filter::{RegionPrefix, TaskFilter, list_values};
use crate::domain::result::china_date;
use crate::domain::spreadsheet::csv_cell;
use crate::domain::task::TaskState;
use crate::draw::{self, CanonicalJson, EntropyValue};
use crate::error::ApiError;
use crate::store::Store;
use crate::store::read_model;
use axum::http::{HeaderName, HeaderValue, header};
pub use cache::{Built, Cache};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
pub use view::*;

pub use crate::domain::MAX_LIST_VALUES;
/// Entries in the Atom feed.
pub const FEED_ENTRIES: i64 = 100;
/// Rows per page of `results.csv` unless `limit` says otherwise, and the most allowed.
pub const CSV_PAGE: i64 = 1_000;
pub const CSV_MAX_PAGE: i64 = 10_000;

/// Who publishes, for the portal's pages (configured; empty when not).
#[derive(Debug, Clone, Default)]
pub struct Site {
    /// The issuing authority (发布机关), e.g. 某市医疗保障局.
    pub authority: String,
    /// How the public reaches it (telephone, address, e-mail).
    pub contact: String,
    /// The server runs on a simulated clock (demo only): every page says so.
    pub simulated_clock: bool,
}

/// The read model with its cache. One per process, shared by every request.
pub struct Publication {
    pub site: Site,
    store: Store,
    calendar: Arc<RwLock<Calendar>>,
    /// Base URL of the public site for absolute links (feed, `Link` headers), never taken
    /// from a request's `Host`.
    public_url: String,
    pub cache: Cache,
    /// Built task views by id, with the generation they were built under.
    views: Mutex<HashMap<String, (u64, Arc<PublicTask>)>>,
}

/// The public task list's filters as they arrive (comma-separated lists).
#[derive(Debug, Default, Clone)]
pub struct ListQuery {
    pub year: Option<i64>,
    pub department: Option<String>,
    pub region_prefix: Option<String>,
    pub state: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

fn uuid_cursor(raw: &Option<String>) -> Result<Option<String>, ApiError> {
    match raw {
        None => Ok(None),
        Some(c) if uuid::Uuid::parse_str(c).is_ok() => Ok(Some(c.clone())),
        Some(_) => Err(ApiError::field(
            "cursor",
            "not a cursor returned by a previous page",
        )),
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("{e}"))
}

impl Publication {
    pub fn new(store: Store, calendar: Arc<RwLock<Calendar>>, public_url: String) -> Self {
        Self {
            site: Site::default(),
            store,
            calendar,
            public_url: public_url.trim_end_matches('/').to_string(),
            cache: Cache::default(),
            views: Mutex::new(HashMap::new()),
        }
    }

    /// The issuing authority and contact shown on the portal.
    pub fn with_site(mut self, site: Site) -> Self {
        self.site = site;
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    fn calendar(&self) -> std::sync::RwLockReadGuard<'_, Calendar> {
        self.calendar.read().expect("calendar lock")
    }

    /// Working days from `a` to `b` on the loaded calendar, if it covers them.
    pub fn working_days_between(&self, a: chrono::NaiveDate, b: chrono::NaiveDate) -> Option<u32> {
        self.calendar().working_days_between(a, b).ok()
    }

    /// The public view of a published task (`None`: no published task has this id).
    /// Built once per generation and shared.
    pub async fn task(&self, id: &str) -> Result<Option<Arc<PublicTask>>, ApiError> {
        let generation = self.cache.generation(&self.store).await;
        if let Some((g, v)) = self.views.lock().expect("views lock").get(id)
            && *g == generation
        {
            return Ok(Some(v.clone()));
        }
        let Some(read) = read_model::task(&self.store, id).await? else {
            return Ok(None);
        };
        let view = Arc::new(view::public_task(&self.calendar(), read));
        let mut views = self.views.lock().expect("views lock");
        if views.len() >= 50_000 {
            views.clear();
        }
        views.insert(id.to_string(), (generation, view.clone()));
        Ok(Some(view))
    }

    /// The bundle of a published task's draw in canonical JSON, byte for byte what
    /// `suiji verify` checks.
    pub async fn bundle(&self, id: &str) -> Result<Option<Vec<u8>>, ApiError> {
        if let Some(v2) = crate::tasks::public_bundle2(&self.store, id).await? {
            return Ok(v2);
        }
        let Some(read) = read_model::bundle(&self.store, id).await? else {
            return Ok(None);
        };
        let entropy = read
            .entropy
            .into_iter()
            .map(|(source, value)| EntropyValue { source, value })
            .collect();
        let bytes = tokio::task::spawn_blocking(move || {
            draw::bundle(read.snapshot, entropy, read.result, read.replacements).canonical_bytes()
        })
        .await
        .map_err(internal)?;
        Ok(Some(bytes))
    }

    /// Feed entries for the audit chain's anchors (issue 11, #7): each seal announces the
    /// task (pool hash, reveal deadline, beacon round) with the chain's head at that moment;
    /// each draw and publication gives the head too.
    async fn anchor_entries(&self) -> Result<Vec<atom_syndication::Entry>, ApiError> {
        use atom_syndication::{Entry, FixedDateTime, Link, Text};
        let base = &self.public_url;
        let (_, anchors) = crate::tasks::audit_anchors(&self.store, FEED_ENTRIES).await?;
        let mut out = Vec::new();
        for a in anchors {
            let Ok(at) = FixedDateTime::parse_from_rfc3339(&a.at) else {
                continue;
            };
            let anchor = format!("{}:{}", a.seq, a.hash);
            let head = format!("{base}/public/v1/audit/head");
            if !a.task_public {
                // A task not public yet is not named; the chain's head is.
                out.push(Entry {
                    id: format!("urn:suiji:audit:{}", a.seq),
                    title: Text::plain(format!("审计链锚点 Audit chain anchor {anchor}")),
                    updated: at,
                    links: vec![Link {
                        href: head,
                        rel: "alternate".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                });
                continue;
            }
            let (title, summary, href) = match a.action.as_str() {
                "task.seal" => {
                    let Some(n) = crate::tasks::announcement(&self.store, &a.task_id).await? else {
                        continue;
                    };
                    (
                        format!("封存公告：{}", n.title),
                        format!(
                            "池哈希 {}；揭示截止 {}；信标轮次 {}；审计链锚点 {anchor}",
                            n.pool_hash.unwrap_or_default(),
                            n.reveal_deadline.unwrap_or_else(|| "—".into()),
                            n.beacon_round.map_or_else(|| "—".into(), |r| r.to_string()),
                        ),
                        format!("{base}/tasks/{}/announcement", a.task_id),
                    )
                }
                "task.draw" => (
                    format!("抽取完成（任务 {}）", a.task_id),
                    format!("审计链锚点 {anchor}"),
                    head,
                ),
                _ => (
                    format!("公布抽查名单（任务 {}）：审计链锚点", a.task_id),
                    format!("审计链锚点 {anchor}"),
                    head,
                ),
            };
            out.push(Entry {
                id: format!("urn:suiji:audit:{}", a.seq),
                title: Text::plain(title),
                updated: at,
                links: vec![Link {
                    href,
                    rel: "alternate".into(),
                    ..Default::default()
                }],
                summary: Some(Text::plain(summary)),
                ..Default::default()
            });
        }
        Ok(out)
    }

    /// Published tasks matching a query.
    pub async fn list(&self, q: &ListQuery) -> Result<PublicTaskList, ApiError> {
        let filter = TaskFilter {
            year: q.year,
            state: list_values("state", &q.state, |s| match TaskState::parse(s) {
                Ok(state @ (TaskState::Published | TaskState::Closed)) => Ok(state),
                _ => Err("must be published or closed".to_string()),
            })?,
            department: list_values("department", &q.department, DepartmentCode::parse)?,
            region_prefix: list_values("region_prefix", &q.region_prefix, RegionPrefix::parse)?,
            ..Default::default()
        };
        let limit = match q.limit {
            None => 50,
            Some(n) if (1..=500).contains(&n) => n,
            Some(_) => return Err(ApiError::field("limit", "must be between 1 and 500")),
        };
        let after = uuid_cursor(&q.cursor)?;
        let (rows, next_cursor) =
            read_model::list(&self.store, &filter, after.as_deref(), limit).await?;
        let calendar = self.calendar();
        Ok(PublicTaskList {
            items: rows.iter().map(|t| view::summary(&calendar, t)).collect(),
            next_cursor,
        })
    }

    /// Names of administrative divisions: built in, with those admins loaded over them.
    pub async fn region_names(&self) -> Result<crate::domain::regions::RegionNames, ApiError> {
        Ok(crate::domain::regions::RegionNames::with_stored(
            self.store.region_names().await?,
        ))
    }

    /// The published inspection-item list: every active item by department and kind.
    pub async fn item_list(&self) -> Result<view::PublicItemList, ApiError> {
        let items = self.store.active_items().await?;
        let names = self.department_names().await?;
        Ok(view::item_list(items, &names))
    }

    /// Department code → (name_zh, name_en).
    pub async fn department_names(&self) -> Result<HashMap<String, (String, String)>, ApiError> {
        Ok(read_model::department_names(&self.store).await?)
    }

    /// Every published inspection of an institution, newest first; `None` when no
    /// published task drew it.
    pub async fn history(&self, institution: &str) -> Result<Option<InstitutionHistory>, ApiError> {
        let Some((card, task_ids)) =
            read_model::institution_tasks(&self.store, institution).await?
        else {
            return Ok(None);
        };
        let mut inspections = Vec::with_capacity(task_ids.len());
        for id in task_ids {
            let Some(task) = self.task(&id).await? else {
                continue;
            };
            if let Some(selection) = task
                .selections
                .iter()
                .find(|s| s.institution.id == institution)
            {
                inspections.push(PublicInspection {
                    task: summary_of(&task),
                    selection: selection.clone(),
                });
            }
        }
        Ok(Some(InstitutionHistory {
            institution: card.into(),
            inspections,
        }))
    }

    /// One page of `results.csv` (UTF-8 with BOM, header row on every page), with a
    /// `Link: <…>; rel="next"` header when more rows follow.
    pub async fn results_csv(
        &self,
        cursor: &Option<String>,
        limit: Option<i64>,
    ) -> Result<Built, ApiError> {
        let limit = match limit {
            None => CSV_PAGE,
            Some(n) if (1..=CSV_MAX_PAGE).contains(&n) => n,
            Some(_) => {
                return Err(ApiError::field(
                    "limit",
                    format!("must be between 1 and {CSV_MAX_PAGE}"),
                ));
            }
        };
        let after = match cursor {
            None => None,
            Some(c) => {
                let parsed = c.split_once('.').and_then(|(t, o)| {
                    uuid::Uuid::parse_str(t).ok()?;
                    Some((t.to_string(), o.parse::<i64>().ok()?))
                });
                Some(parsed.ok_or_else(|| {
                    ApiError::field("cursor", "not a cursor returned by a previous page")
                })?)
            }
        };
        let (lines, tasks) = read_model::result_lines(
            &self.store,
            after.as_ref().map(|(t, o)| (t.as_str(), *o)),
            limit + 1,
        )
        .await?;
        let more = lines.len() as i64 > limit;
        let lines = &lines[..lines.len().min(limit as usize)];
        let mut out = Vec::from("\u{feff}".as_bytes());
        {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(CSV_HEADER).map_err(internal)?;
            // Titles and each department's part for the page: two set-based reads.
            let mut task_ids: Vec<String> = lines.iter().map(|l| l.task_id.clone()).collect();
            task_ids.dedup();
            let mut codes: Vec<String> = tasks
                .values()
                .flat_map(|t| t.config.items.iter().cloned())
                .collect();
            codes.sort();
            codes.dedup();
            let all_items = if codes.is_empty() {
                Vec::new()
            } else {
                self.store.items_with_codes(&codes).await?
            };
            let all_parts = self.store.published_parts_of(&task_ids).await?;
            let mut extras: HashMap<
                &str,
                (
                    Vec<crate::store::parts::ItemCard>,
                    Vec<crate::store::parts::PartRow>,
                ),
            > = HashMap::new();
            for (id, task) in &tasks {
                let items = all_items
                    .iter()
                    .filter(|i| {
                        task.config.items.contains(&i.code)
                            && task
                                .config
                                .departments
                                .iter()
                                .any(|d| d.code.as_str() == i.department)
                    })
                    .cloned()
                    .collect();
                extras.insert(id.as_str(), (items, Vec::new()));
            }
            for (task_id, part) in all_parts {
                if let Some(e) = extras.get_mut(task_id.as_str()) {
                    e.1.push(part);
                }
            }
            let names = self.department_names().await?;
            let calendar = self.calendar();
            let mut due: HashMap<&str, Option<chrono::NaiveDate>> = HashMap::new();
            for l in lines {
                let Some(task) = tasks.get(&l.task_id) else {
                    continue;
                };
                let results_due = *due
                    .entry(task.id.as_str())
                    .or_insert_with(|| view::deadlines(&calendar, &task.config).results_due);
                let (on_time, _) =
                    view::timeliness(&calendar, results_due, china_date(&l.first_published_at));
                let r = &l.current;
                let follow: Vec<&str> = r.data.follow_up.iter().map(|f| f.label_zh()).collect();
                let (items, parts) = extras
                    .get(l.task_id.as_str())
                    .map(|(i, p)| (i.as_slice(), p.as_slice()))
                    .unwrap_or_default();
                let (item_cell, parts_cell) =
                    csv_extras(items, parts, &names, &l.institution.id, &r.data);
                // Every cell through the one spreadsheet-safety rule: a title or finding
                // starting with `=`, `+`, `-` or `@` must not run as a formula.
                let row = [
                    task.id.as_str(),
                    &task.config.title,
                    &task.config.year.to_string(),
                    &task.config.round.to_string(),
                    task.config.lead_department.as_str(),
                    &l.institution.id,
                    &l.institution.name,
                    &l.institution.credit_code,
                    &l.institution.region,
                    r.data.category.code(),
                    r.data.category.label_zh(),
                    &r.data.inspection_date.to_string(),
                    &r.data.findings,
                    &r.data.amounts.fund_recovered_fen.to_string(),
                    &r.data.amounts.penalty_fen.to_string(),
                    &r.data.amounts.violations.to_string(),
                    &follow.join("; "),
                    &r.version.to_string(),
                    &r.published_at,
                    &results_due.map(|d| d.to_string()).unwrap_or_default(),
                    match on_time {
                        Some(true) => "yes",
                        Some(false) => "no",
                        None => "",
                    },
                    &item_cell,
                    &parts_cell,
                    task.config.mode().as_str(),
                ];
                w.write_record(row.iter().map(|c| csv_cell(c).into_owned()))
                    .map_err(internal)?;
            }
            w.flush().map_err(internal)?;
        }
        let mut extra = Vec::new();
        if more && let Some(last) = lines.last() {
            let link = format!(
                "<{}/public/v1/results.csv?cursor={}.{}&limit={limit}>; rel=\"next\"",
                self.public_url, last.task_id, last.order
            );
            extra.push((
                header::LINK,
                HeaderValue::from_str(&link).map_err(internal)?,
            ));
            extra.push((
                HeaderName::from_static("x-next-cursor"),
                HeaderValue::from_str(&format!("{}.{}", last.task_id, last.order))
                    .map_err(internal)?,
            ));
        }
        Ok(Built { body: out, extra })
    }

    /// The Atom feed of the newest publications (drawn lists and result batches).
    pub async fn feed(&self) -> Result<Vec<u8>, ApiError> {
        use atom_syndication::{Entry, Feed, FixedDateTime, Link, Text};
        let base = &self.public_url;
        let read = read_model::feed(&self.store, FEED_ENTRIES).await?;
        let parse = |s: &str| FixedDateTime::parse_from_rfc3339(s).ok();
        let link = |href: String| Link {
            href,
            rel: "alternate".into(),
            ..Default::default()
        };
        let mut entries: Vec<Entry> = Vec::new();
        for task in &read.selections {
            if let Some(at) = task.published_at.as_deref().and_then(parse) {
                entries.push(Entry {
                    id: format!("urn:suiji:task:{}:selection", task.id),
                    title: Text::plain(format!(
                        "公布{}名单：{}",
                        kind_of(&task.config),
                        task.config.title
                    )),
                    updated: at,
                    links: vec![link(format!("{base}/tasks/{}", task.id))],
                    summary: Some(Text::plain(format!(
                        "{} 年第 {} 轮，检查期 {} 至 {}",
                        task.config.year,
                        task.config.round,
                        task.config.inspection_start,
                        task.config.inspection_end
                    ))),
                    ..Default::default()
                });
            }
        }
        for (task, at) in &read.results {
            if let Some(at) = parse(at) {
                entries.push(Entry {
                    id: format!("urn:suiji:task:{}:results:{}", task.id, at.to_rfc3339()),
                    title: Text::plain(format!(
                        "公布{}结果：{}",
                        kind_of(&task.config),
                        task.config.title
                    )),
                    updated: at,
                    links: vec![link(format!("{base}/tasks/{}", task.id))],
                    ..Default::default()
                });
            }
        }
        entries.extend(self.anchor_entries().await?);
        // Annual plans: each publication and amendment (issue 13).
        entries
            .extend(crate::plans::feed::entries(&self.store, base, FEED_ENTRIES as usize).await?);
        entries.sort_by_key(|e| std::cmp::Reverse(e.updated));
        entries.truncate(FEED_ENTRIES as usize);
        let updated = entries
            .first()
            .map(|e| e.updated)
            .or_else(|| parse("2026-01-01T00:00:00Z"))
            .expect("a fixed date parses");
        let feed = Feed {
            id: "urn:suiji:publications".into(),
            title: Text::plain("双随机、一公开 抽查公示 (suiji)"),
            updated,
            links: vec![Link {
                href: format!("{base}/public/v1/feed.atom"),
                rel: "self".into(),
                ..Default::default()
            }],
            entries,
            ..Default::default()
        };
        Ok(feed.to_string().into_bytes())
    }
}

/// What the feed calls a task: 抽查, 定向检查 or 抽查复查 (issue 14).
fn kind_of(cfg: &crate::domain::task::TaskInput) -> &'static str {
    match cfg.mode() {
        crate::domain::targeted::TaskMode::Random => "抽查",
        crate::domain::targeted::TaskMode::Targeted => "定向检查",
        crate::domain::targeted::TaskMode::Recheck => "抽查复查",
    }
}

/// The list summary of a built task view.
pub fn summary_of(t: &PublicTask) -> PublicTaskSummary {
    PublicTaskSummary {
        id: t.id.clone(),
        title: t.title.clone(),
        year: t.year,
        round: t.round,
        state: t.state,
        lead_department: t.lead_department.clone(),
        departments: t.departments.iter().map(|d| d.code.clone()).collect(),
        inspection_start: t.inspection_start,
        inspection_end: t.inspection_end,
        selection_published_at: t.selection_published_at.clone(),
        deadlines: t.deadlines.clone(),
        mode: t.mode,
    }
}

/// The columns of `results.csv`.
pub const CSV_HEADER: [&str; 24] = [
    "task_id",
    "task_title",
    "year",
    "round",
    "lead_department",
    "institution_id",
    "institution_name",
    "credit_code",
    "region",
    "category",
    "category_zh",
    "inspection_date",
    "findings",
    "fund_recovered_fen",
    "penalty_fen",
    "violations",
    "follow_up",
    "result_version",
    "published_at",
    "results_due",
    "on_time",
    "items",
    "department_parts",
    "task_mode",
];

/// The `items` cell (each outcome under its item's title) and the `department_parts` cell
/// (each department's current published part under its name) of one `results.csv` row.
fn csv_extras(
    items: &[crate::store::parts::ItemCard],
    parts: &[crate::store::parts::PartRow],
    names: &HashMap<String, (String, String)>,
    institution: &str,
    data: &crate::domain::result::ResultInput,
) -> (String, String) {
    use crate::domain::result::Outcome;
    let outcome = |o: Outcome| match o {
        Outcome::Compliant => "符合",
        Outcome::NonCompliant => "不符合",
        Outcome::NotChecked => "未检查",
    };
    let title = |code: &str| {
        items
            .iter()
            .find(|i| i.code == code)
            .map_or(code.to_string(), |i| i.title.clone())
    };
    let item_cell: Vec<String> = data
        .item_outcomes
        .iter()
        .map(|o| format!("{}：{}", title(&o.item), outcome(o.outcome)))
        .collect();
    // The latest published version of each department's part (rows are by department
    // and version, so the last one of a department wins).
    let mut latest: Vec<&crate::store::parts::PartRow> = Vec::new();
    for p in parts.iter().filter(|p| p.institution_id == institution) {
        match latest.iter_mut().find(|x| x.department == p.department) {
            Some(x) => *x = p,
            None => latest.push(p),
        }
    }
    let parts_cell: Vec<String> = latest
        .iter()
        .map(|p| {
            let name = names
                .get(&p.department)
                .map_or(p.department.clone(), |(zh, _)| zh.clone());
            format!(
                "{name}：{}（追回{}分，罚款{}分）",
                p.data.category.label_zh(),
                p.data.amounts.fund_recovered_fen,
                p.data.amounts.penalty_fen
            )
        })
        .collect();
    (item_cell.join("; "), parts_cell.join("; "))
}
