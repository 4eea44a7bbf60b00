//! The public shapes (what `/public/v1` serves and the portal renders) and how they are
//! built from the read model's rows. Pure functions: no I/O here.

use crate::domain::calendar::Calendar;
use crate::domain::registry::InstitutionKind;
use crate::domain::result::{ResultInput, china_date};
use crate::domain::task::{TaskInput, TaskState};
use crate::store::parts::{ItemCard, PartRow};
use crate::store::read_model::{InstitutionCard, PublishedResult, PublishedTask, TaskRead};
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

/// The disclosure deadlines of a task.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Deadlines {
    /// The drawn list must be public by this date (the inspection start, unless configured earlier).
    #[schema(value_type = String, format = Date)]
    pub selection_publish_by: chrono::NaiveDate,
    /// Results are due by this date: `inspection_end` + N working days on the official
    /// calendar. Null when the calendar of a year it runs into is not loaded yet.
    #[schema(value_type = Option<String>, format = Date)]
    pub results_due: Option<chrono::NaiveDate>,
    /// Why `results_due` is null.
    pub results_due_problem: Option<String>,
}

/// Computes a task's deadlines on the loaded calendar; never guesses past it.
pub fn deadlines(calendar: &Calendar, cfg: &TaskInput) -> Deadlines {
    let (results_due, results_due_problem) =
        match calendar.add_working_days(cfg.inspection_end, cfg.results_working_days()) {
            Ok(d) => (Some(d), None),
            Err(e) => (None, Some(e.to_string())),
        };
    Deadlines {
        selection_publish_by: cfg.selection_deadline(),
        results_due,
        results_due_problem,
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicInstitution {
    pub id: String,
    pub name: String,
    pub credit_code: String,
    pub region: String,
    pub kind: String,
    /// The kind in Chinese, e.g. 定点零售药店.
    pub kind_zh: String,
}

impl From<InstitutionCard> for PublicInstitution {
    fn from(c: InstitutionCard) -> Self {
        Self {
            kind_zh: InstitutionKind::parse(&c.kind)
                .map(|k| k.label_zh().to_string())
                .unwrap_or_default(),
            id: c.id,
            name: c.name,
            credit_code: c.credit_code,
            region: c.region,
            kind: c.kind,
        }
    }
}

/// An inspector as published: name and certificate number, nothing else.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicInspector {
    pub name: String,
    pub certificate_no: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicTeam {
    pub department: String,
    pub inspectors: Vec<PublicInspector>,
}

/// One published version of a result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicResultVersion {
    pub version: i64,
    #[serde(flatten)]
    pub data: ResultInput,
    pub category_zh: String,
    pub category_en: String,
    pub correction_reason: Option<String>,
    pub published_at: String,
    /// The item outcomes with the items' titles (what the public reads), in order.
    pub item_results: Vec<PublicItemResult>,
}

/// One item's outcome as the public reads it: its title, not only its code.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicItemResult {
    pub item: String,
    /// The item's title (the code when the item is unknown).
    pub title: String,
    /// The department the item belongs to, when known.
    pub department: Option<String>,
    pub outcome: crate::domain::result::Outcome,
    pub note: String,
}

/// One department's published part of a joint inspection's result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicPart {
    pub department: String,
    /// The department's Chinese name.
    pub department_name: String,
    #[serde(flatten)]
    pub current: PublicResultVersion,
    /// Earlier published versions of this part, oldest first.
    pub earlier_versions: Vec<PublicResultVersion>,
}

/// An inspection item of a task, as published.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicTaskItem {
    pub department: String,
    pub department_name: String,
    pub institution_kind: String,
    pub code: String,
    pub title: String,
    pub legal_basis: String,
}

/// The published result of one inspection, with its timeliness and earlier versions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicResult {
    #[serde(flatten)]
    pub current: PublicResultVersion,
    /// True when first published by the results deadline (China time); null when the
    /// deadline is unknown (calendar not loaded).
    pub on_time: Option<bool>,
    /// Working days past the deadline when first published late.
    pub working_days_late: Option<u32>,
    /// Earlier published versions, oldest first (corrections keep them visible).
    pub earlier_versions: Vec<PublicResultVersion>,
    /// Each department's published part (joint inspections, 谁检查、谁公开), by the
    /// task's department order; empty where the lead entered the result alone.
    pub parts: Vec<PublicPart>,
    /// Issue 15: the latest rectification ordered on this result, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rectification: Option<PublicRectification>,
    /// Issue 15 part 5: objections to this result (异议), oldest first, with their
    /// outcome; never the filer's contact.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objections: Vec<crate::objections::PublicObjection>,
}

/// Where a rectification stands, as the public reads it (the plan's content and the
/// reports stay internal).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicRectification {
    /// `ordered`, `plan_submitted`, `completed` or `verified` as recorded; past
    /// `due_date` and not completed it is overdue.
    pub state: crate::domain::rectification::RectificationState,
    pub state_zh: String,
    #[schema(value_type = String, format = Date)]
    pub ordered_on: chrono::NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub due_date: chrono::NaiveDate,
    #[schema(value_type = Option<String>, format = Date)]
    pub completed_on: Option<chrono::NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub verified_on: Option<chrono::NaiveDate>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicSelection {
    pub order: u64,
    pub stratum: String,
    pub institution: PublicInstitution,
    /// The 组长; null in a suiji-draw/2 sample without teams (then `team` is empty).
    #[schema(required = true)]
    pub leader: Option<PublicInspector>,
    pub team: Vec<PublicTeam>,
    pub result: Option<PublicResult>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicReplacement {
    pub seq: u64,
    pub institution: String,
    pub department: String,
    pub out: PublicInspector,
    #[serde(rename = "in")]
    pub inspector_in: PublicInspector,
    pub reason: String,
    /// suiji-draw/2: the previous record's hash (the first: the `result_hash`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev: Option<String>,
    /// suiji-draw/2: this record's hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicEntropy {
    pub source: String,
    pub note: Option<String>,
    pub commitment: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicDepartment {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub team_size: u64,
    /// The most inspectors per institution when the team size is a range (B.14).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_size_max: Option<u64>,
}

/// A published task with everything the public may see.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicTask {
    pub id: String,
    pub title: String,
    pub year: i32,
    pub round: u32,
    pub state: TaskState,
    pub lead_department: String,
    /// The lead department's Chinese name.
    pub lead_department_name: String,
    pub departments: Vec<PublicDepartment>,
    #[schema(value_type = String, format = Date)]
    pub inspection_start: chrono::NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub inspection_end: chrono::NaiveDate,
    pub items: Vec<String>,
    /// The task's items with their titles and legal basis, by department and kind.
    pub inspection_items: Vec<PublicTaskItem>,
    #[serde(flatten)]
    pub deadlines: Deadlines,
    /// When the drawn list was published.
    pub selection_published_at: Option<String>,
    /// Whether the drawn list was published by `selection_publish_by` (China time).
    pub selection_on_time: Option<bool>,
    pub pool_hash: Option<String>,
    /// Which organizations' inspectors the sealed pool took, per department.
    pub pools: Vec<crate::domain::organization::OrgPool>,
    pub seed: Option<String>,
    pub result_hash: Option<String>,
    /// Where to download the bundle for `suiji verify`.
    pub bundle_url: String,
    pub entropy: Vec<PublicEntropy>,
    pub selections: Vec<PublicSelection>,
    pub replacements: Vec<PublicReplacement>,
    /// Drawn institutions with no published result yet.
    pub results_pending: usize,
    /// Published results that came after their deadline.
    pub results_late: usize,
    /// `suiji-draw/1` or `suiji-draw/2`.
    pub protocol: crate::domain::task::Protocol,
    /// suiji-draw/2: department sources that did not reveal by the deadline.
    pub forfeited: Vec<String>,
    /// suiji-draw/2: the hash of the last replacement record, or the `result_hash`.
    pub replacements_head: Option<String>,
    /// suiji-draw/2: the reveal deadline (RFC 3339) and the beacon round.
    pub reveal_deadline: Option<String>,
    pub beacon_round: Option<u64>,
    /// What the draw's fairness rests on (Chinese, English).
    pub trust_zh: String,
    pub trust_en: String,
    /// `random` (drawn, 双随机) or `targeted` (定向: named, teams drawn).
    pub mode: crate::domain::targeted::TaskMode,
    /// 随机 or 定向.
    pub mode_zh: String,
    /// A targeted task's named institutions with the kind of reason (the reason's text
    /// stays private).
    pub targets: Vec<PublicTarget>,
    /// Readable titles of the strata by id (for the portal; not part of the API).
    #[serde(skip)]
    pub stratum_titles: HashMap<String, String>,
}

/// A readable Chinese title for a stratum: the kinds of institution it draws (e.g.
/// 定点零售药店), with its region prefixes; the id when the filter names no kind.
pub fn stratum_title(s: &crate::domain::task::StratumConfig) -> String {
    if s.filter.kind.is_empty() {
        return s.id.clone();
    }
    let kinds: Vec<&str> = s.filter.kind.iter().map(|k| k.label_zh()).collect();
    let mut title = kinds.join("、");
    if !s.filter.region_prefix.is_empty() {
        title.push_str(&format!("（地区 {}）", s.filter.region_prefix.join("、")));
    }
    title
}

/// A named institution of a targeted task, as the public sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicTarget {
    pub institution: String,
    pub reason_kind: crate::domain::targeted::ReasonKind,
    pub reason_kind_zh: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicTaskSummary {
    pub id: String,
    pub title: String,
    pub year: i32,
    pub round: u32,
    pub state: TaskState,
    pub lead_department: String,
    pub departments: Vec<String>,
    #[schema(value_type = String, format = Date)]
    pub inspection_start: chrono::NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub inspection_end: chrono::NaiveDate,
    pub selection_published_at: Option<String>,
    #[serde(flatten)]
    pub deadlines: Deadlines,
    /// `random` or `targeted` (定向).
    pub mode: crate::domain::targeted::TaskMode,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicTaskList {
    pub items: Vec<PublicTaskSummary>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicInspection {
    pub task: PublicTaskSummary,
    pub selection: PublicSelection,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstitutionHistory {
    pub institution: PublicInstitution,
    /// Every published inspection of this institution, newest first.
    pub inspections: Vec<PublicInspection>,
}

pub fn summary(calendar: &Calendar, t: &PublishedTask) -> PublicTaskSummary {
    PublicTaskSummary {
        id: t.id.clone(),
        title: t.config.title.clone(),
        year: t.config.year,
        round: t.config.round,
        state: t.state,
        lead_department: t.config.lead_department.to_string(),
        departments: t
            .config
            .departments
            .iter()
            .map(|d| d.code.to_string())
            .collect(),
        inspection_start: t.config.inspection_start,
        inspection_end: t.config.inspection_end,
        selection_published_at: t.published_at.clone(),
        deadlines: deadlines(calendar, &t.config),
        mode: t.config.mode(),
    }
}

/// Item titles by (department, code), to show titles for codes.
pub type Titles = Vec<ItemCard>;

fn item_results(
    titles: &Titles,
    department: Option<&str>,
    data: &ResultInput,
) -> Vec<PublicItemResult> {
    data.item_outcomes
        .iter()
        .map(|o| {
            let known = titles
                .iter()
                .filter(|t| t.code == o.item)
                .find(|t| department.is_none_or(|d| d == t.department));
            PublicItemResult {
                item: o.item.clone(),
                title: known.map_or(o.item.clone(), |t| t.title.clone()),
                department: known.map(|t| t.department.clone()),
                outcome: o.outcome,
                note: o.note.clone(),
            }
        })
        .collect()
}

fn version_view(
    titles: &Titles,
    department: Option<&str>,
    r: &PublishedResult,
) -> PublicResultVersion {
    PublicResultVersion {
        version: r.version,
        data: r.data.clone(),
        category_zh: r.data.category.label_zh().into(),
        category_en: r.data.category.label_en().into(),
        correction_reason: r.correction_reason.clone(),
        published_at: r.published_at.clone(),
        item_results: item_results(titles, department, &r.data),
    }
}

/// Each institution's published parts, by the task's department order.
fn published_parts(
    titles: &Titles,
    order: &[String],
    names: &dyn Fn(&str) -> String,
    parts: Vec<PartRow>,
) -> HashMap<String, Vec<PublicPart>> {
    let mut out: HashMap<String, Vec<PublicPart>> = HashMap::new();
    for p in parts {
        let row = PublishedResult {
            institution_id: p.institution_id.clone(),
            version: p.version,
            data: p.data,
            correction_reason: p.correction_reason,
            published_at: p.published_at.unwrap_or_default(),
        };
        let view = version_view(titles, Some(&p.department), &row);
        let list = out.entry(p.institution_id).or_default();
        match list.iter_mut().find(|x| x.department == p.department) {
            Some(existing) => {
                let earlier = std::mem::replace(&mut existing.current, view);
                existing.earlier_versions.push(earlier);
            }
            None => list.push(PublicPart {
                department_name: names(&p.department),
                department: p.department,
                current: view,
                earlier_versions: Vec::new(),
            }),
        }
    }
    for list in out.values_mut() {
        list.sort_by_key(|p| order.iter().position(|d| *d == p.department));
    }
    out
}

/// Whether a result first published on `first` met the deadline `due`, and by how much not.
pub fn timeliness(
    calendar: &Calendar,
    due: Option<chrono::NaiveDate>,
    first: Option<chrono::NaiveDate>,
) -> (Option<bool>, Option<u32>) {
    match (due, first) {
        (Some(d), Some(p)) if p <= d => (Some(true), None),
        (Some(d), Some(p)) => (Some(false), calendar.working_days_between(d, p).ok()),
        _ => (None, None),
    }
}

/// The published result of each institution from its published versions (in version order).
fn published_results(
    calendar: &Calendar,
    titles: &Titles,
    rows: Vec<PublishedResult>,
    due: Option<chrono::NaiveDate>,
) -> HashMap<String, PublicResult> {
    let mut by_inst: HashMap<String, Vec<PublishedResult>> = HashMap::new();
    for r in rows {
        by_inst.entry(r.institution_id.clone()).or_default().push(r);
    }
    by_inst
        .into_iter()
        .map(|(inst, mut versions)| {
            versions.sort_by_key(|v| v.version);
            let first = versions
                .iter()
                .map(|v| v.published_at.as_str())
                .min()
                .and_then(china_date);
            let (on_time, working_days_late) = timeliness(calendar, due, first);
            let current =
                version_view(titles, None, versions.last().expect("at least one version"));
            let earlier_versions = versions[..versions.len() - 1]
                .iter()
                .map(|v| version_view(titles, None, v))
                .collect();
            (
                inst,
                PublicResult {
                    current,
                    on_time,
                    working_days_late,
                    earlier_versions,
                    parts: Vec::new(),
                    rectification: None,
                    objections: Vec::new(),
                },
            )
        })
        .collect()
}

/// Builds the public view of a published task from what the read model read.
pub fn public_task(calendar: &Calendar, read: TaskRead) -> PublicTask {
    let TaskRead {
        task,
        result,
        drawn,
        replacements,
        results,
        entropy,
        inspectors,
        departments,
        pools,
        parts,
        items,
        rectifications,
        objections,
    } = read;
    let lead = task.config.lead_department.as_str();
    let card = |id: &str| {
        let (name, certificate_no) = inspectors.get(id).cloned().unwrap_or_default();
        PublicInspector {
            name,
            certificate_no,
        }
    };
    let deadlines = deadlines(calendar, &task.config);
    let mut results = published_results(calendar, &items, results, deadlines.results_due);
    let order: Vec<String> = task
        .config
        .departments
        .iter()
        .map(|d| d.code.to_string())
        .collect();
    let zh_name = |code: &str| {
        departments
            .get(code)
            .map_or(code.to_string(), |(zh, _)| zh.clone())
    };
    let mut parts = published_parts(&items, &order, &zh_name, parts);
    for (inst, r) in results.iter_mut() {
        r.parts = parts.remove(inst).unwrap_or_default();
        r.objections = objections
            .iter()
            .filter(|o| &o.institution_id == inst)
            .map(crate::objections::stored_view)
            .collect();
        r.rectification = rectifications
            .iter()
            .rfind(|x| &x.institution_id == inst)
            .map(|x| PublicRectification {
                state: x.state,
                state_zh: x.state.label_zh().into(),
                ordered_on: x.ordered_on,
                due_date: x.due_date,
                completed_on: x.completion.as_ref().map(|c| c.completed_on),
                verified_on: x
                    .verifications
                    .last()
                    .filter(|v| v.passed)
                    .map(|v| v.verified_on),
            });
    }
    let inspection_items: Vec<PublicTaskItem> = items
        .iter()
        .map(|i| PublicTaskItem {
            department: i.department.clone(),
            department_name: zh_name(&i.department),
            institution_kind: i.institution_kind.clone(),
            code: i.code.clone(),
            title: i.title.clone(),
            legal_basis: i.legal_basis.clone(),
        })
        .collect();
    let mut institutions: HashMap<String, InstitutionCard> = drawn
        .into_iter()
        .map(|d| (d.institution.id.clone(), d.institution))
        .collect();
    // The teams as drawn, with every replacement applied in order (the 组长 is then the
    // first of the lead department's team).
    let mut drawn_teams = result.selections;
    let index: HashMap<String, usize> = drawn_teams
        .iter()
        .enumerate()
        .map(|(i, s)| (s.institution.clone(), i))
        .collect();
    for r in &replacements {
        let Some(&i) = index.get(&r.institution) else {
            continue;
        };
        let sel = &mut drawn_teams[i];
        if let Some(team) = sel.team.iter_mut().find(|t| t.department == r.department)
            && let Some(slot) = team.inspectors.iter_mut().find(|x| **x == r.out)
        {
            *slot = r.r#in.clone();
        }
        if let Some(first) = sel
            .team
            .iter()
            .find(|t| t.department == lead)
            .and_then(|t| t.inspectors.first())
        {
            sel.leader = Some(first.clone());
        }
    }
    let selections: Vec<PublicSelection> = drawn_teams
        .into_iter()
        .map(|s| {
            let inst = institutions
                .remove(&s.institution)
                .unwrap_or(InstitutionCard {
                    id: s.institution.clone(),
                    ..Default::default()
                });
            PublicSelection {
                order: s.order,
                leader: s.leader.as_deref().map(&card),
                team: s
                    .team
                    .iter()
                    .map(|t| PublicTeam {
                        department: t.department.clone(),
                        inspectors: t.inspectors.iter().map(|i| card(i)).collect(),
                    })
                    .collect(),
                result: results.remove(&s.institution),
                stratum: s.stratum,
                institution: inst.into(),
            }
        })
        .collect();
    let results_pending = selections.iter().filter(|s| s.result.is_none()).count();
    let results_late = selections
        .iter()
        .filter(|s| s.result.as_ref().and_then(|r| r.on_time) == Some(false))
        .count();
    let name_of = |code: &str| departments.get(code).cloned().unwrap_or_default();
    let v2 = task.config.protocol() == crate::domain::task::Protocol::V2;
    let chained = match (&task.result_hash, v2) {
        (Some(h), true) => crate::tasks::v2::chain(h, &replacements),
        _ => Vec::new(),
    };
    let replacements_head = match (&task.result_hash, v2) {
        (Some(h), true) => Some(chained.last().map_or_else(|| h.clone(), |r| r.hash.clone())),
        _ => None,
    };
    let forfeited: Vec<String> = if v2 {
        entropy
            .iter()
            .filter(|e| e.value.is_none() && e.source.starts_with("department:"))
            .map(|e| e.source.clone())
            .collect()
    } else {
        Vec::new()
    };
    let trust = crate::tasks::v2::trust(&task.config);
    let selection_on_time = task
        .published_at
        .as_deref()
        .and_then(china_date)
        .map(|d| d <= deadlines.selection_publish_by);
    PublicTask {
        stratum_titles: task
            .config
            .strata
            .iter()
            .map(|s| (s.id.clone(), stratum_title(s)))
            .collect(),
        bundle_url: format!("/public/v1/tasks/{}/bundle", task.id),
        title: task.config.title.clone(),
        year: task.config.year,
        round: task.config.round,
        state: task.state,
        lead_department: lead.to_string(),
        lead_department_name: name_of(lead).0,
        departments: task
            .config
            .departments
            .iter()
            .map(|d| {
                let (name_zh, name_en) = name_of(d.code.as_str());
                PublicDepartment {
                    code: d.code.to_string(),
                    name_zh,
                    name_en,
                    team_size: d.team_size,
                    team_size_max: d.team_size_max,
                }
            })
            .collect(),
        inspection_start: task.config.inspection_start,
        inspection_end: task.config.inspection_end,
        items: task.config.items.clone(),
        inspection_items,
        deadlines,
        selection_published_at: task.published_at,
        selection_on_time,
        pool_hash: task.pool_hash,
        pools: crate::domain::organization::OrgPool::from_rows(pools),
        seed: task.seed,
        result_hash: task.result_hash,
        entropy: entropy
            .into_iter()
            .map(|e| PublicEntropy {
                source: e.source,
                note: e.note,
                commitment: e.commitment,
                value: e.value,
            })
            .collect(),
        replacements: replacements
            .into_iter()
            .enumerate()
            .map(|(i, r)| PublicReplacement {
                prev: chained.get(i).map(|c| c.prev.clone()),
                hash: chained.get(i).map(|c| c.hash.clone()),
                out: card(&r.out),
                inspector_in: card(&r.r#in),
                seq: r.seq,
                institution: r.institution,
                department: r.department,
                reason: r.reason,
            })
            .collect(),
        selections,
        results_pending,
        results_late,
        protocol: task.config.protocol(),
        forfeited,
        replacements_head,
        reveal_deadline: task
            .config
            .reveal_deadline_unix()
            .map(|t| crate::domain::task::unix_rfc3339(t.max(0) as u64)),
        beacon_round: task.config.beacon_round().filter(|_| v2),
        trust_zh: trust.zh(),
        trust_en: trust.en(),
        mode: task.config.mode(),
        mode_zh: task.config.mode().label_zh().to_string(),
        targets: task
            .config
            .targets
            .iter()
            .map(|t| PublicTarget {
                institution: t.institution.clone(),
                reason_kind: t.reason_kind,
                reason_kind_zh: t.reason_kind.label_zh().to_string(),
            })
            .collect(),
        id: task.id,
    }
}

/// One published inspection item (抽查事项).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicItem {
    pub code: String,
    pub title: String,
    pub legal_basis: String,
}

/// A department's items for one kind of institution.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicItemKind {
    pub institution_kind: String,
    /// The kind in Chinese, e.g. 定点医疗机构.
    pub institution_kind_zh: String,
    pub items: Vec<PublicItem>,
}

/// One department's published item list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicItemDepartment {
    pub department: String,
    pub name_zh: String,
    pub name_en: String,
    pub kinds: Vec<PublicItemKind>,
}

/// The published inspection-item list (抽查事项清单): what may be checked, by department
/// and institution kind. Nothing outside it is checked (清单之外无检查).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicItemList {
    pub departments: Vec<PublicItemDepartment>,
}

/// Groups active items (sorted by department, kind, code) for publication.
pub fn item_list(
    items: Vec<ItemCard>,
    names: &HashMap<String, (String, String)>,
) -> PublicItemList {
    let mut departments: Vec<PublicItemDepartment> = Vec::new();
    for i in items {
        if departments
            .last()
            .is_none_or(|d| d.department != i.department)
        {
            let (name_zh, name_en) = names.get(&i.department).cloned().unwrap_or_default();
            departments.push(PublicItemDepartment {
                department: i.department.clone(),
                name_zh,
                name_en,
                kinds: Vec::new(),
            });
        }
        let d = departments.last_mut().expect("just pushed");
        if d.kinds
            .last()
            .is_none_or(|k| k.institution_kind != i.institution_kind)
        {
            d.kinds.push(PublicItemKind {
                institution_kind_zh: InstitutionKind::parse(&i.institution_kind)
                    .map_or(i.institution_kind.clone(), |k| k.label_zh().to_string()),
                institution_kind: i.institution_kind.clone(),
                items: Vec::new(),
            });
        }
        d.kinds
            .last_mut()
            .expect("just pushed")
            .items
            .push(PublicItem {
                code: i.code,
                title: i.title,
                legal_basis: i.legal_basis,
            });
    }
    PublicItemList { departments }
}
