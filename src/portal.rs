//! The public portal (公示页面): server-rendered HTML over the same published data as
//! `/public/v1`. `GET /` lists and searches published tasks; `GET /tasks/{id}` shows one
//! task with its drawn institutions, teams, results, deadlines and how to verify the draw.
//! No JavaScript; askama escapes every value; responses carry the public API's strong
//! ETag and `Cache-Control`, built from the publication read model and cached as bytes
//! like the API's. Unpublished or unknown tasks get a 404 page that says nothing about them.

use crate::domain::regions::RegionNames;
use crate::domain::result::{Outcome, china_date};
use crate::domain::task::TaskState;
use crate::error::ApiError;
use crate::publication::{
    Built, ListQuery, PublicInspector, PublicResultVersion, PublicTask, PublicTaskSummary,
    Publication, Site,
};
use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRef, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

const HTML: &str = "text/html; charset=utf-8";
/// Tasks per page of the list.
const PAGE_SIZE: i64 = 20;

/// The portal's pages, on any state the publication read model can be taken from.
pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<crate::publication::Publication>: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(portal_index))
        .routes(routes!(portal_task))
        .routes(routes!(draw_spec))
        .routes(routes!(portal_announcement))
}

// ---- small formatting helpers ----

/// Fen (1/100 yuan) as yuan with thousands separators: 123456 → "1,234.56".
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{:02}", abs % 100)
}

/// An RFC 3339 timestamp in Beijing time, to the minute.
fn beijing(rfc3339: &str) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(rfc3339) else {
        return rfc3339.to_string();
    };
    let offset = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    t.with_timezone(&offset)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn kind_label(kind: &str) -> String {
    match kind {
        "designated_hospital" => "定点医疗机构".into(),
        "retail_pharmacy" => "定点零售药店".into(),
        "village_clinic" => "村卫生室".into(),
        "other" => "其他".into(),
        other => other.into(),
    }
}

fn state_label(state: TaskState) -> &'static str {
    match state {
        TaskState::Published => "已公布名单 Selection published",
        TaskState::Closed => "已办结 Closed",
        _ => "",
    }
}

fn outcome_label(o: Outcome) -> &'static str {
    match o {
        Outcome::Compliant => "符合 Compliant",
        Outcome::NonCompliant => "不符合 Non-compliant",
        Outcome::NotChecked => "未检查 Not checked",
    }
}

/// Department names by code, from the department registry (public information).
async fn department_names(p: &Publication) -> Result<HashMap<String, String>, ApiError> {
    Ok(p.department_names()
        .await?
        .into_iter()
        .map(|(code, (zh, _))| (code, zh))
        .collect())
}

fn dept_name(names: &HashMap<String, String>, code: &str) -> String {
    names.get(code).cloned().unwrap_or_else(|| code.to_string())
}

// ---- pages ----

/// A deadline and how it went: `late` decides the red "逾期" marking.
pub struct Timeliness {
    pub text: String,
    pub late: bool,
    /// Met (shown with a ✓ and a word), as opposed to merely pending.
    pub ok: bool,
}

impl Timeliness {
    fn late(text: String) -> Self {
        Self {
            text,
            late: true,
            ok: false,
        }
    }
    fn ok(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            late: false,
            ok: true,
        }
    }
    fn pending(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            late: false,
            ok: false,
        }
    }
}

struct TaskRow {
    id: String,
    title: String,
    year: i32,
    round: u32,
    state: &'static str,
    lead: String,
    departments: String,
    inspection_start: String,
    inspection_end: String,
    selection_published_at: String,
    results_due: String,
    /// Results overdue or published late, as on the task's page.
    late: Option<String>,
    /// 定向 (institutions named, not drawn) or 复查 (re-check) badge; none: random.
    mode_badge: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "portal/index.html")]
struct IndexPage {
    site: Site,
    tasks: Vec<TaskRow>,
    year: String,
    department: String,
    region_prefix: String,
    departments: Vec<(String, String)>,
    /// Named divisions for the region field's suggestions: (code, name).
    regions: Vec<(String, String)>,
    errors: Vec<String>,
    filtered: bool,
    first_page: Option<String>,
    next_page: Option<String>,
}

struct Member {
    name: String,
    certificate_no: String,
    leader: bool,
}

struct TeamRow {
    department: String,
    members: Vec<Member>,
}

struct VersionView {
    version: i64,
    category_zh: String,
    category_en: String,
    findings: String,
    fund_recovered: String,
    penalty: String,
    violations: i64,
    follow_up: Vec<String>,
    /// 处理方式 and 违规类型 as recorded (issue 15; empty on older results).
    handling: Vec<String>,
    violation_types: Vec<String>,
    items: Vec<(String, &'static str, String)>,
    inspection_date: String,
    published_at: String,
    correction_reason: Option<String>,
}

struct ResultView {
    current: VersionView,
    timeliness: Timeliness,
    earlier: Vec<VersionView>,
    /// Each department's published part (joint inspections): its name and its version.
    parts: Vec<(String, VersionView)>,
    /// Issue 15: where the rectification stands (整改情况), in words.
    rectification: Option<String>,
    /// Issue 15 part 5: each objection to the result and its outcome, in words.
    objections: Vec<String>,
}

struct SelectionRow {
    order: u64,
    stratum: String,
    stratum_title: String,
    name: String,
    credit_code: String,
    region: String,
    /// The division's name (鄂尔多斯市东胜区), or the code when it has none.
    region_name: String,
    kind: String,
    teams: Vec<TeamRow>,
    result: Option<ResultView>,
}

struct ReplacementRow {
    seq: u64,
    institution: String,
    department: String,
    out: String,
    inspector_in: String,
    reason: String,
}

struct EntropyRow {
    source: String,
    note: String,
    commitment: String,
    value: String,
}

#[derive(Template)]
#[template(path = "portal/task.html")]
struct TaskPage {
    site: Site,
    id: String,
    title: String,
    year: i32,
    round: u32,
    state: &'static str,
    lead: String,
    departments: Vec<(String, String, u64)>,
    inspection_start: String,
    inspection_end: String,
    items: Vec<String>,
    selection_publish_by: String,
    selection_published_at: String,
    selection_timeliness: Timeliness,
    results_due: String,
    results_timeliness: Timeliness,
    results_published: usize,
    results_pending: usize,
    results_late: usize,
    selections: Vec<SelectionRow>,
    replacements: Vec<ReplacementRow>,
    pool_hash: String,
    seed: String,
    result_hash: String,
    bundle_url: String,
    entropy: Vec<EntropyRow>,
    /// suiji-draw/2 (issue 11): protocol, trust statement, forfeits, chain head.
    draw2: Draw2Facts,
    /// 定向 (issue 14): the institutions were named with a reason, only the teams drawn.
    targeted: bool,
    /// 复查 (issue 14): drawn from the inspections lower levels completed.
    recheck: bool,
}

/// What a suiji-draw/2 task adds to its page: the protocol, what its fairness rests on,
/// the reveal deadline and beacon round, forfeited departments and the replacement chain.
struct Draw2Facts {
    protocol: &'static str,
    trust_zh: String,
    trust_en: String,
    reveal_deadline: String,
    beacon_round: String,
    forfeited: Vec<String>,
    replacements_head: String,
    replacement_hashes: Vec<(u64, String)>,
}

fn draw2_facts(t: &PublicTask) -> Draw2Facts {
    Draw2Facts {
        protocol: t.protocol.as_str(),
        trust_zh: t.trust_zh.clone(),
        trust_en: t.trust_en.clone(),
        reveal_deadline: t
            .reveal_deadline
            .as_deref()
            .map(beijing)
            .unwrap_or_default(),
        beacon_round: t.beacon_round.map(|r| r.to_string()).unwrap_or_default(),
        forfeited: t.forfeited.clone(),
        replacements_head: t.replacements_head.clone().unwrap_or_default(),
        replacement_hashes: t
            .replacements
            .iter()
            .filter_map(|r| r.hash.clone().map(|h| (r.seq, h)))
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "portal/error.html")]
struct ErrorPage {
    site: Site,
    title: &'static str,
    message: String,
}

fn html(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(HTML));
    resp
}

fn render(t: &impl Template) -> Result<String, ApiError> {
    t.render()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("rendering a portal page: {e}")))
}

/// An error as an HTML page (never a problem document: browsers read this).
fn error_page(site: &Site, err: ApiError) -> Response {
    let status = err.status();
    let (title, message) = match &err {
        ApiError::NotFound(_) => (
            "未找到 Not found",
            "没有这项已公布的抽查任务。未公布的任务不在此显示。 No published task has this id; unpublished tasks are not shown.".to_string(),
        ),
        ApiError::Validation { errors, .. } => (
            "查询条件有误 Invalid search",
            errors
                .iter()
                .map(|e| format!("{} {}: {}", field_label(&e.field), e.field, e.reason))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        e if status.is_server_error() => {
            tracing::error!(error = %e, "portal page failed");
            ("服务暂时不可用 Server error", "请稍后再试。".to_string())
        }
        e => ("请求有误 Bad request", format!("请检查链接或查询条件。 {e}")),
    };
    let body = render(&ErrorPage {
        site: site.clone(),
        title,
        message,
    })
    .unwrap_or_else(|_| format!("<!doctype html><title>{}</title>", status.as_u16()));
    html(status, body)
}

/// The Chinese name of a search field, for error messages on the page.
fn field_label(field: &str) -> &'static str {
    match field {
        "year" => "年份",
        "department" => "部门",
        "region_prefix" => "地区代码前缀",
        "cursor" => "分页位置",
        _ => "查询条件",
    }
}

/// The search form as the browser sends it: every field optional, empty means "any".
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PortalQuery {
    /// Inspection year, e.g. 2023.
    pub year: Option<String>,
    /// A department code, e.g. `medical_insurance`.
    pub department: Option<String>,
    /// Region prefix of drawn institutions, e.g. `1506`.
    pub region_prefix: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

fn page_link(q: &PortalQuery, cursor: Option<&str>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("year", non_empty(&q.year)),
        ("department", non_empty(&q.department)),
        ("region_prefix", non_empty(&q.region_prefix)),
        ("cursor", cursor.map(String::from)),
    ] {
        if let Some(v) = v {
            s.append_pair(k, &v);
        }
    }
    let qs = s.finish();
    if qs.is_empty() {
        "/".into()
    } else {
        format!("/?{qs}")
    }
}

/// The badge of a task that is not a plain random draw.
fn mode_badge(mode: crate::domain::targeted::TaskMode) -> Option<&'static str> {
    match mode {
        crate::domain::targeted::TaskMode::Random => None,
        crate::domain::targeted::TaskMode::Targeted => Some("定向 Targeted"),
        crate::domain::targeted::TaskMode::Recheck => Some("复查 Re-check"),
    }
}

fn task_row(
    names: &HashMap<String, String>,
    t: PublicTaskSummary,
    late: Option<String>,
) -> TaskRow {
    TaskRow {
        late,
        mode_badge: mode_badge(t.mode),
        state: state_label(t.state),
        lead: dept_name(names, &t.lead_department),
        departments: t
            .departments
            .iter()
            .map(|d| dept_name(names, d))
            .collect::<Vec<_>>()
            .join("、"),
        inspection_start: t.inspection_start.to_string(),
        inspection_end: t.inspection_end.to_string(),
        selection_published_at: t
            .selection_published_at
            .as_deref()
            .map(beijing)
            .unwrap_or_default(),
        results_due: t
            .deadlines
            .results_due
            .map(|d| d.to_string())
            .unwrap_or_else(|| "待定 (calendar not loaded)".into()),
        id: t.id,
        title: t.title,
        year: t.year,
        round: t.round,
    }
}

/// The portal: published tasks, searchable by year, department and region.
#[utoipa::path(get, path = "/", tag = "public", params(PortalQuery),
    responses((status = 200, description = "The portal's list of published tasks (HTML)",
               content_type = "text/html", body = String,
               headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified"),
              (status = 400, description = "A query string that cannot be read (HTML)",
               content_type = "text/html", body = String),
              (status = 422, description = "An invalid search, explained on the page",
               content_type = "text/html", body = String)))]
async fn portal_index(
    State(publication): State<Arc<crate::publication::Publication>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let p = &publication;
    let raw = raw.unwrap_or_default();
    // Late marks depend on today's date (China time) as well as on the data.
    let key = format!("portal@{}?{raw}", p.store().clock().china_today());
    // Only a good page is cached; an invalid search is answered (and rebuilt) each time.
    p.cache
        .serve(p.store(), &headers, key, HTML, || async {
            match index_page(p, &raw).await {
                Ok((status, body)) if status == StatusCode::OK => {
                    Ok(Built::from(body.into_bytes()))
                }
                Ok((status, body)) => Err(html(status, body)),
                Err(e) => Err(error_page(&p.site, e)),
            }
        })
        .await
        .unwrap_or_else(|resp| resp)
}

async fn index_page(p: &Publication, raw: &str) -> Result<(StatusCode, String), ApiError> {
    let q: PortalQuery = serde_urlencoded::from_str(raw)
        .map_err(|e| ApiError::BadRequest(format!("查询参数无法解析: {e}")))?;
    let mut errors = Vec::new();
    let year = match non_empty(&q.year) {
        None => None,
        // Four ASCII digits, as the form (and the document) say; `0` or `12345` is not a year.
        Some(y) => match y.parse::<i64>() {
            Ok(n) if y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => {
                errors.push("年份 year: 请填写四位数字年份，例如 2023".to_string());
                None
            }
        },
    };
    let api_query = ListQuery {
        year,
        department: non_empty(&q.department),
        region_prefix: non_empty(&q.region_prefix),
        state: None,
        cursor: non_empty(&q.cursor),
        limit: Some(PAGE_SIZE),
    };
    let names = department_names(p).await?;
    let mut departments: Vec<(String, String)> =
        names.iter().map(|(c, n)| (c.clone(), n.clone())).collect();
    departments.sort();
    let region_names = p.region_names().await?;
    let regions = region_names
        .iter()
        .map(|(c, _)| (c.to_string(), region_names.label(c)))
        .collect();
    let (tasks, next) = if errors.is_empty() {
        match p.list(&api_query).await {
            Ok(list) => (list.items, list.next_cursor),
            Err(ApiError::Validation { errors: es, .. }) => {
                errors.extend(
                    es.into_iter()
                        .map(|e| format!("{} {}: {}", field_label(&e.field), e.field, e.reason)),
                );
                (Vec::new(), None)
            }
            Err(e) => return Err(e),
        }
    } else {
        (Vec::new(), None)
    };
    // Late marks as on each task's page (built views are cached per task).
    let mut rows = Vec::with_capacity(tasks.len());
    for t in tasks {
        let late = match p.task(&t.id).await? {
            Some(view) => late_mark(&view, p.store().clock().china_today()),
            None => None,
        };
        rows.push(task_row(&names, t, late));
    }
    let page = IndexPage {
        tasks: rows,
        site: p.site.clone(),
        year: q.year.clone().unwrap_or_default(),
        department: q.department.clone().unwrap_or_default(),
        region_prefix: q.region_prefix.clone().unwrap_or_default(),
        departments,
        regions,
        filtered: year.is_some()
            || api_query.department.is_some()
            || api_query.region_prefix.is_some(),
        first_page: api_query.cursor.as_ref().map(|_| page_link(&q, None)),
        next_page: next.as_deref().map(|c| page_link(&q, Some(c))),
        errors,
    };
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, render(&page)?))
}

/// The portal page of one published task: drawn institutions, teams, results,
/// deadlines, and how to verify the draw.
#[utoipa::path(get, path = "/tasks/{id}", tag = "public", params(("id" = String, Path)),
    responses((status = 200, description = "The task's public page (HTML)",
               content_type = "text/html", body = String,
               headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified"),
              (status = 404, description = "No published task with this id (HTML)",
               content_type = "text/html", body = String)))]
async fn portal_task(
    State(publication): State<Arc<crate::publication::Publication>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    // An undecodable id names no published task: the same HTML 404 as any other.
    let Ok(Path(id)) = id else {
        return error_page(&publication.site, ApiError::NotFound("no such task".into()));
    };
    let p = &publication;
    // Timeliness ("overdue") depends on today's date (China time) as well as on the data.
    let key = format!("portal/tasks/{id}@{}", p.store().clock().china_today());
    p.cache
        .serve(p.store(), &headers, key, HTML, || async {
            task_html(p, &id)
                .await
                .map(|body| Built::from(body.into_bytes()))
                .map_err(|e| error_page(&p.site, e))
        })
        .await
        .unwrap_or_else(|resp| resp)
}

async fn task_html(p: &Publication, id: &str) -> Result<String, ApiError> {
    // Only published (or closed) tasks exist here; everything else is the same 404.
    let view = p
        .task(id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no published task with this id".into()))?;
    let names = department_names(p).await?;
    let regions = p.region_names().await?;
    render(&task_view(p, &names, &regions, &view))
}

/// "Overdue" or "published late" for the list, when the task's results are.
fn late_mark(t: &PublicTask, today: chrono::NaiveDate) -> Option<String> {
    match t.deadlines.results_due {
        Some(due) if t.results_pending > 0 && today > due => Some(format!(
            "结果逾期未公布 {} 家 Results overdue",
            t.results_pending
        )),
        _ if t.results_late > 0 => Some(format!(
            "{} 项结果逾期公布 {} late",
            t.results_late, t.results_late
        )),
        _ => None,
    }
}

fn person(p: &PublicInspector) -> String {
    format!("{}（{}）", p.name, p.certificate_no)
}

fn version_view(v: &PublicResultVersion) -> VersionView {
    VersionView {
        version: v.version,
        category_zh: v.category_zh.clone(),
        category_en: v.category_en.clone(),
        findings: v.data.findings.clone(),
        fund_recovered: yuan(v.data.amounts.fund_recovered_fen),
        penalty: yuan(v.data.amounts.penalty_fen),
        violations: v.data.amounts.violations,
        follow_up: v
            .data
            .follow_up
            .iter()
            .map(|f| f.label_zh().to_string())
            .collect(),
        handling: v
            .data
            .handling
            .iter()
            .map(|h| h.label_zh().to_string())
            .collect(),
        violation_types: v
            .data
            .violation_types
            .iter()
            .map(|t| {
                format!(
                    "{} {} 例 {} 元",
                    t.violation.label_zh(),
                    t.cases,
                    yuan(t.amount_fen)
                )
            })
            .collect(),
        // Titles, not codes: what the public reads (the code stays in the JSON).
        items: v
            .item_results
            .iter()
            .map(|o| (o.title.clone(), outcome_label(o.outcome), o.note.clone()))
            .collect(),
        inspection_date: v.data.inspection_date.to_string(),
        published_at: beijing(&v.published_at),
        correction_reason: v.correction_reason.clone(),
    }
}

fn task_view(
    p: &Publication,
    names: &HashMap<String, String>,
    regions: &RegionNames,
    t: &PublicTask,
) -> TaskPage {
    // The server's clock (simulated in demos and tests), as the API's reports use.
    let today = p.store().clock().china_today();
    let working_days = |a, b| p.working_days_between(a, b);
    let days = |n: Option<u32>| n.map(|n| format!(" {n} 个工作日")).unwrap_or_default();

    let by = t.deadlines.selection_publish_by;
    let selection_timeliness = match t.selection_published_at.as_deref().and_then(china_date) {
        Some(p) if p <= by => Timeliness::ok("按时公布 On time"),
        Some(p) => Timeliness::late(format!(
            "逾期{}公布 Published late",
            days(working_days(by, p))
        )),
        None => Timeliness::pending("未公布 Not published"),
    };

    let results_published = t.selections.iter().filter(|s| s.result.is_some()).count();
    let results_timeliness = match t.deadlines.results_due {
        None => Timeliness::pending(format!(
            "期限待定：{}",
            t.deadlines
                .results_due_problem
                .clone()
                .unwrap_or_else(|| "calendar not loaded".into())
        )),
        Some(due) if t.results_pending > 0 && today > due => Timeliness::late(format!(
            "逾期{}，尚有 {} 家未公布 Overdue",
            days(working_days(due, today)),
            t.results_pending
        )),
        Some(_) if t.results_late > 0 => Timeliness::late(format!(
            "{} 项结果逾期公布 {} late",
            t.results_late, t.results_late
        )),
        Some(_) if t.results_pending == 0 => Timeliness::ok("全部按时公布 All on time"),
        Some(_) => Timeliness::pending(format!(
            "未到期，已公布 {results_published} 家，待公布 {} 家 Not yet due",
            t.results_pending
        )),
    };

    let inst_names: HashMap<&str, &str> = t
        .selections
        .iter()
        .map(|s| (s.institution.id.as_str(), s.institution.name.as_str()))
        .collect();
    let replacements = t
        .replacements
        .iter()
        .map(|r| ReplacementRow {
            seq: r.seq,
            institution: inst_names
                .get(r.institution.as_str())
                .map(|n| n.to_string())
                .unwrap_or_else(|| r.institution.clone()),
            department: dept_name(names, &r.department),
            out: person(&r.out),
            inspector_in: person(&r.inspector_in),
            reason: r.reason.clone(),
        })
        .collect();

    let selections = t
        .selections
        .iter()
        .map(|s| {
            // The lead department's team (with the 组长) first.
            let mut ordered: Vec<_> = s.team.iter().collect();
            ordered.sort_by_key(|team| team.department != t.lead_department);
            let teams = ordered
                .into_iter()
                .map(|team| TeamRow {
                    department: dept_name(names, &team.department),
                    members: team
                        .inspectors
                        .iter()
                        .map(|i| Member {
                            leader: team.department == t.lead_department
                                && s.leader
                                    .as_ref()
                                    .is_some_and(|l| l.certificate_no == i.certificate_no),
                            name: i.name.clone(),
                            certificate_no: i.certificate_no.clone(),
                        })
                        .collect(),
                })
                .collect();
            let result = s.result.as_ref().map(|r| ResultView {
                objections: r
                    .objections
                    .iter()
                    .map(|o| crate::objections::portal_line(o, today))
                    .collect(),
                current: version_view(&r.current),
                timeliness: match r.on_time {
                    Some(true) => Timeliness::ok("按时 On time"),
                    Some(false) => {
                        Timeliness::late(format!("逾期{} Late", days(r.working_days_late)))
                    }
                    None => Timeliness::pending("期限待定 Deadline unknown"),
                },
                earlier: r.earlier_versions.iter().map(version_view).collect(),
                parts: r
                    .parts
                    .iter()
                    .map(|p| (p.department_name.clone(), version_view(&p.current)))
                    .collect(),
                rectification: r.rectification.as_ref().map(|x| {
                    let state = match x.state {
                        crate::domain::rectification::RectificationState::Ordered
                        | crate::domain::rectification::RectificationState::PlanSubmitted
                            if today > x.due_date =>
                        {
                            crate::domain::rectification::RectificationState::Overdue
                        }
                        s => s,
                    };
                    format!(
                        "{}（{} 责令，限 {} 前完成）",
                        state.label_zh(),
                        x.ordered_on,
                        x.due_date
                    )
                }),
            });
            let named = t.targets.iter().find(|x| x.institution == s.institution.id);
            SelectionRow {
                order: s.order,
                stratum_title: match named {
                    Some(n) => format!("定向检查（{}）", n.reason_kind_zh),
                    None => t
                        .stratum_titles
                        .get(&s.stratum)
                        .cloned()
                        .unwrap_or_else(|| s.stratum.clone()),
                },
                stratum: s.stratum.clone(),
                name: s.institution.name.clone(),
                credit_code: s.institution.credit_code.clone(),
                region: s.institution.region.clone(),
                region_name: regions.label(&s.institution.region),
                kind: kind_label(&s.institution.kind),
                teams,
                result,
            }
        })
        .collect();

    TaskPage {
        site: p.site.clone(),
        targeted: t.mode == crate::domain::targeted::TaskMode::Targeted,
        recheck: t.mode == crate::domain::targeted::TaskMode::Recheck,
        state: state_label(t.state),
        lead: dept_name(names, &t.lead_department),
        departments: t
            .departments
            .iter()
            .map(|d| {
                (
                    dept_name(names, &d.code),
                    if d.code == t.lead_department {
                        "牵头 Lead".to_string()
                    } else {
                        "参与 Participating".to_string()
                    },
                    d.team_size,
                )
            })
            .collect(),
        inspection_start: t.inspection_start.to_string(),
        inspection_end: t.inspection_end.to_string(),
        items: t.items.clone(),
        selection_publish_by: by.to_string(),
        selection_published_at: t
            .selection_published_at
            .as_deref()
            .map(beijing)
            .unwrap_or_default(),
        selection_timeliness,
        results_due: t
            .deadlines
            .results_due
            .map(|d| d.to_string())
            .unwrap_or_else(|| "待定".into()),
        results_timeliness,
        results_published,
        results_pending: t.results_pending,
        results_late: t.results_late,
        selections,
        replacements,
        draw2: draw2_facts(t),
        pool_hash: t.pool_hash.clone().unwrap_or_default(),
        seed: t.seed.clone().unwrap_or_default(),
        result_hash: t.result_hash.clone().unwrap_or_default(),
        entropy: t
            .entropy
            .iter()
            .map(|e| EntropyRow {
                source: e.source.clone(),
                note: e.note.clone().unwrap_or_default(),
                commitment: e.commitment.clone().unwrap_or_else(|| "—".into()),
                value: e.value.clone().unwrap_or_else(|| "—".into()),
            })
            .collect(),
        bundle_url: t.bundle_url.clone(),
        id: t.id.clone(),
        title: t.title.clone(),
        year: t.year,
        round: t.round,
    }
}

#[cfg(test)]
mod tests {
    use super::yuan;

    #[test]
    fn fen_to_yuan() {
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(123456), "1,234.56");
        assert_eq!(yuan(100_000_000), "1,000,000.00");
        assert_eq!(yuan(-99), "-0.99");
    }
}

#[derive(Template)]
#[template(path = "portal/spec.html")]
struct SpecPage {
    site: Site,
    text: &'static str,
}

/// The draw specification the portal's verification steps refer to.
const DRAW_SPEC: &str = include_str!("../docs/draw-spec.md");

/// The draw specification (suiji-draw), as a page of the portal.
#[utoipa::path(get, path = "/draw-spec", tag = "public",
    responses((status = 200, description = "The draw specification (HTML)",
               content_type = "text/html", body = String,
               headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified")))]
async fn draw_spec(
    State(publication): State<Arc<crate::publication::Publication>>,
    headers: HeaderMap,
) -> Response {
    let p = &publication;
    p.cache
        .serve(
            p.store(),
            &headers,
            "portal/draw-spec".into(),
            HTML,
            || async {
                render(&SpecPage {
                    site: p.site.clone(),
                    text: DRAW_SPEC,
                })
                .map(|body| Built::from(body.into_bytes()))
                .map_err(|e| error_page(&p.site, e))
            },
        )
        .await
        .unwrap_or_else(|resp| resp)
}

// ---- suiji-draw/2: the sealing announcement ----

#[derive(Template)]
#[template(path = "portal/announcement.html")]
struct AnnouncementPage {
    site: Site,
    a: crate::tasks::Announcement,
    state: &'static str,
    protocol: &'static str,
    sealed_at: String,
    pool_hash: String,
    reveal_deadline: String,
    beacon: String,
    cancel_reason: String,
    entropy: Vec<(String, String, &'static str)>,
}

/// A sealed suiji-draw/2 task's announcement, public from its seal on (and after a
/// cancellation), before any value can be revealed. Not cached: it changes with reveals.
#[utoipa::path(get, path = "/tasks/{id}/announcement", tag = "public",
    params(("id" = String, Path)),
    responses((status = 200, description = "The announcement (HTML)", content_type = "text/html", body = String),
              (status = 404, description = "No sealed suiji-draw/2 task with this id (HTML)",
               content_type = "text/html", body = String)))]
async fn portal_announcement(
    State(publication): State<Arc<crate::publication::Publication>>,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let site = &publication.site;
    let Ok(Path(id)) = id else {
        return error_page(site, ApiError::NotFound("no such task".into()));
    };
    let a = match crate::tasks::announcement(publication.store(), &id).await {
        Ok(Some(a)) => a,
        Ok(None) => {
            return error_page(
                site,
                ApiError::NotFound("no sealed task with this id".into()),
            );
        }
        Err(e) => return error_page(site, e.into()),
    };
    let page = AnnouncementPage {
        site: site.clone(),
        state: state_label(a.state),
        protocol: a.protocol.as_str(),
        sealed_at: a.sealed_at.as_deref().map(beijing).unwrap_or_default(),
        pool_hash: a.pool_hash.clone().unwrap_or_default(),
        reveal_deadline: a
            .reveal_deadline
            .as_deref()
            .map(beijing)
            .unwrap_or_default(),
        beacon: match (a.beacon_round, &a.beacon_round_time) {
            (Some(r), Some(t)) => format!("drand quicknet 第 {r} 轮（{}）", beijing(t)),
            _ => "无 None".into(),
        },
        cancel_reason: a.cancel_reason.clone().unwrap_or_default(),
        entropy: a
            .entropy
            .iter()
            .map(|e| {
                (
                    e.source.clone(),
                    e.commitment.clone().unwrap_or_default(),
                    if e.revealed { "是 Yes" } else { "否 No" },
                )
            })
            .collect(),
        a,
    };
    match render(&page) {
        Ok(body) => html(StatusCode::OK, body),
        Err(e) => error_page(site, e),
    }
}
