//! `/public/v1`: what the public sees (一公开). No token, read-only, CORS open; only
//! published tasks and published results ever appear. Every response carries a strong
//! ETag and `Cache-Control`, and `If-None-Match` gets 304.

use super::extract::{ApiPath, ApiQuery, cursor, limit, list_param};
use super::tasks::{Deadlines, current_selections, deadlines};
use crate::app::AppState;
use crate::domain::DepartmentCode;
use crate::domain::codes::parse_region_prefix;
use crate::domain::result::{ResultInput, china_date};
use crate::domain::task::TaskState;
use crate::draw::DrawResult;
use crate::error::{ApiError, ApiResult, Problem};
use crate::store::publication::{self, ResultRow};
use crate::store::tasks::{self as task_store, TaskFilter, TaskRow};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use tower_http::cors::{Any, CorsLayer};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(public_tasks))
        .routes(routes!(public_task))
        .routes(routes!(public_bundle))
        .routes(routes!(institution_history))
        .routes(routes!(results_csv))
        .routes(routes!(feed))
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::GET, Method::HEAD])
                .allow_headers(Any)
                .expose_headers([header::ETAG]),
        )
}

/// A public response: strong ETag over the exact bytes, short shared caching, 304 when
/// the client already has them.
pub fn cached(request: &HeaderMap, content_type: &'static str, body: Vec<u8>) -> Response {
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&body))[..32]);
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let h = resp.headers_mut();
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("hex is a valid header"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    resp
}

fn cached_json<T: Serialize>(request: &HeaderMap, value: &T) -> ApiResult<Response> {
    let body = serde_json::to_vec(value).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(cached(request, "application/json", body))
}

fn is_public(state: TaskState) -> bool {
    matches!(state, TaskState::Published | TaskState::Closed)
}

/// A published task, or 404 for anything else (unpublished tasks do not exist here).
pub(crate) async fn published_task(state: &AppState, id: &str) -> ApiResult<TaskRow> {
    match task_store::get(state.store.pool(), id).await? {
        Some(t) if is_public(t.state) => Ok(t),
        // The same answer whether the task does not exist or is not published yet.
        _ => Err(ApiError::NotFound("no published task with this id".into())),
    }
}

// ---- shapes ----

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
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicSelection {
    pub order: u64,
    pub stratum: String,
    pub institution: PublicInstitution,
    pub leader: PublicInspector,
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
    #[serde(flatten)]
    pub deadlines: Deadlines,
    /// When the drawn list was published.
    pub selection_published_at: Option<String>,
    /// Whether the drawn list was published by `selection_publish_by` (China time).
    pub selection_on_time: Option<bool>,
    pub pool_hash: Option<String>,
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
}

fn version_view(r: &ResultRow) -> PublicResultVersion {
    PublicResultVersion {
        version: r.version,
        data: r.data.clone(),
        category_zh: r.data.category.label_zh().into(),
        category_en: r.data.category.label_en().into(),
        correction_reason: r.correction_reason.clone(),
        published_at: r.published_at.clone().unwrap_or_default(),
    }
}

/// The published result of each institution: its published versions only.
fn published_results(
    state: &AppState,
    rows: Vec<ResultRow>,
    due: Option<chrono::NaiveDate>,
) -> HashMap<String, PublicResult> {
    let mut by_inst: HashMap<String, Vec<ResultRow>> = HashMap::new();
    for r in rows.into_iter().filter(|r| r.published_at.is_some()) {
        by_inst.entry(r.institution_id.clone()).or_default().push(r);
    }
    let calendar = state.calendar.read().expect("calendar lock");
    by_inst
        .into_iter()
        .map(|(inst, mut versions)| {
            versions.sort_by_key(|v| v.version);
            let first_published = versions
                .iter()
                .filter_map(|v| v.published_at.as_deref())
                .min()
                .and_then(china_date);
            let (on_time, late) = match (due, first_published) {
                (Some(d), Some(p)) if p <= d => (Some(true), None),
                (Some(d), Some(p)) => (Some(false), calendar.working_days_between(d, p).ok()),
                _ => (None, None),
            };
            let current = version_view(versions.last().expect("at least one version"));
            let earlier = versions[..versions.len() - 1]
                .iter()
                .map(version_view)
                .collect();
            (
                inst,
                PublicResult {
                    current,
                    on_time,
                    working_days_late: late,
                    earlier_versions: earlier,
                },
            )
        })
        .collect()
}

fn kind_label(kind: &str) -> String {
    crate::domain::registry::InstitutionKind::parse(kind)
        .map(|k| k.label_zh().to_string())
        .unwrap_or_default()
}

fn card(cards: &HashMap<String, (String, String)>, id: &str) -> PublicInspector {
    let (name, certificate_no) = cards.get(id).cloned().unwrap_or_default();
    PublicInspector {
        name,
        certificate_no,
    }
}

/// Builds the public view of a published task.
pub async fn public_view(state: &AppState, task: TaskRow) -> ApiResult<PublicTask> {
    let pool = state.store.pool();
    let result: DrawResult = match task_store::result(pool, &task.id).await? {
        Some(json) => serde_json::from_str(&json).map_err(|e| ApiError::Internal(e.into()))?,
        None => {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "published task {} has no draw",
                task.id
            )));
        }
    };
    let replacements = task_store::replacements(pool, &task.id).await?;
    let selections =
        current_selections(&result, task.config.lead_department.as_str(), &replacements);
    let deadlines = deadlines(state, &task.config);
    let results = published_results(
        state,
        publication::results(pool, &task.id).await?,
        deadlines.results_due,
    );
    let institution_ids: Vec<String> = selections.iter().map(|s| s.institution.clone()).collect();
    let mut inspector_ids: Vec<String> = selections
        .iter()
        .flat_map(|s| s.team.iter().flat_map(|t| t.inspectors.iter().cloned()))
        .chain(
            replacements
                .iter()
                .flat_map(|r| [r.out.clone(), r.r#in.clone()]),
        )
        .collect();
    inspector_ids.sort();
    inspector_ids.dedup();
    let institutions = publication::institution_cards(pool, &institution_ids).await?;
    let inspectors = publication::inspector_cards(pool, &inspector_ids).await?;
    let entropy = task_store::entropy(pool, &task.id)
        .await?
        .into_iter()
        .map(|e| PublicEntropy {
            source: e.source,
            note: e.note,
            commitment: e.commitment,
            value: e.value,
        })
        .collect();
    let names: HashMap<String, (String, String)> = crate::store::registry::list_departments(pool)
        .await?
        .into_iter()
        .map(|d| (d.data.code.to_string(), (d.data.name_zh, d.data.name_en)))
        .collect();
    let name_of = |code: &str| names.get(code).cloned().unwrap_or_default();
    let selection_on_time = task
        .published_at
        .as_deref()
        .and_then(china_date)
        .map(|d| d <= deadlines.selection_publish_by);
    let public_selections: Vec<PublicSelection> = selections
        .into_iter()
        .map(|s| {
            let (name, credit_code, region, kind) = institutions
                .get(&s.institution)
                .cloned()
                .unwrap_or_default();
            PublicSelection {
                order: s.order,
                stratum: s.stratum,
                leader: card(&inspectors, &s.leader),
                team: s
                    .team
                    .iter()
                    .map(|t| PublicTeam {
                        department: t.department.clone(),
                        inspectors: t.inspectors.iter().map(|i| card(&inspectors, i)).collect(),
                    })
                    .collect(),
                result: results.get(&s.institution).cloned(),
                institution: PublicInstitution {
                    id: s.institution,
                    name,
                    credit_code,
                    region,
                    kind_zh: kind_label(&kind),
                    kind,
                },
            }
        })
        .collect();
    let results_pending = public_selections
        .iter()
        .filter(|s| s.result.is_none())
        .count();
    let results_late = public_selections
        .iter()
        .filter(|s| s.result.as_ref().and_then(|r| r.on_time) == Some(false))
        .count();
    Ok(PublicTask {
        bundle_url: format!("/public/v1/tasks/{}/bundle", task.id),
        id: task.id,
        title: task.config.title.clone(),
        year: task.config.year,
        round: task.config.round,
        state: task.state,
        lead_department: task.config.lead_department.to_string(),
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
                }
            })
            .collect(),
        lead_department_name: name_of(task.config.lead_department.as_str()).0,
        inspection_start: task.config.inspection_start,
        inspection_end: task.config.inspection_end,
        items: task.config.items.clone(),
        deadlines,
        selection_published_at: task.published_at,
        selection_on_time,
        pool_hash: task.pool_hash,
        seed: task.seed,
        result_hash: task.result_hash,
        entropy,
        replacements: replacements
            .into_iter()
            .map(|r| PublicReplacement {
                out: card(&inspectors, &r.out),
                inspector_in: card(&inspectors, &r.r#in),
                seq: r.seq,
                institution: r.institution,
                department: r.department,
                reason: r.reason,
            })
            .collect(),
        selections: public_selections,
        results_pending,
        results_late,
    })
}

// ---- endpoints ----

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PublicTaskQuery {
    pub year: Option<i64>,
    /// Tasks a department took part in (comma-separated codes).
    pub department: Option<String>,
    /// Tasks that drew institutions in these regions (comma-separated prefixes).
    pub region_prefix: Option<String>,
    /// `published` or `closed` (comma-separated).
    pub state: Option<String>,
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
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
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicTaskList {
    pub items: Vec<PublicTaskSummary>,
    pub next_cursor: Option<String>,
}

pub fn summary(state: &AppState, t: TaskRow) -> PublicTaskSummary {
    let deadlines = deadlines(state, &t.config);
    PublicTaskSummary {
        id: t.id,
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
        selection_published_at: t.published_at,
        deadlines,
    }
}

/// The published tasks matching a query, for the API and the portal.
pub async fn list_published(state: &AppState, q: &PublicTaskQuery) -> ApiResult<PublicTaskList> {
    let states = list_param("state", &q.state, |s| match TaskState::parse(s) {
        Ok(st) if is_public(st) => Ok(s.to_string()),
        _ => Err("must be published or closed".to_string()),
    })?;
    let filter = TaskFilter {
        year: q.year,
        state: if states.is_empty() {
            vec!["published".into(), "closed".into()]
        } else {
            states
        },
        department: list_param("department", &q.department, |s| {
            DepartmentCode::parse(s).map(|_| s.to_string())
        })?,
        region_prefix: list_param("region_prefix", &q.region_prefix, parse_region_prefix)?,
        ..Default::default()
    };
    let (rows, next_cursor) = task_store::list(
        state.store.pool(),
        &filter,
        cursor(q.cursor.clone())?,
        limit(q.limit)?,
    )
    .await?;
    Ok(PublicTaskList {
        items: rows.into_iter().map(|t| summary(state, t)).collect(),
        next_cursor,
    })
}

/// Published tasks.
#[utoipa::path(get, path = "/public/v1/tasks", tag = "public", params(PublicTaskQuery),
    responses((status = 200, body = PublicTaskList, headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn public_tasks(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<PublicTaskQuery>,
) -> ApiResult<Response> {
    cached_json(&headers, &list_published(&state, &q).await?)
}

/// A published task: drawn institutions, teams, results, deadlines, timeliness.
#[utoipa::path(get, path = "/public/v1/tasks/{id}", tag = "public", params(("id" = String, Path)),
    responses((status = 200, body = PublicTask, headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified"),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn public_task(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let task = published_task(&state, &id).await?;
    cached_json(&headers, &public_view(&state, task).await?)
}

/// The bundle of a published task's draw, for `suiji verify`.
#[utoipa::path(get, path = "/public/v1/tasks/{id}/bundle", tag = "public", params(("id" = String, Path)),
    responses((status = 200, description = "The bundle (canonical JSON)", content_type = "application/json", body = Object,
               headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified"),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn public_bundle(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let task = published_task(&state, &id).await?;
    let resp = super::tasks::bundle_response(&state, &task).await?;
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("bundle body: {e}")))?;
    Ok(cached(&headers, "application/json", body.to_vec()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicInspection {
    pub task: PublicTaskSummary,
    pub selection: PublicSelection,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InstitutionHistory {
    pub institution: PublicInstitution,
    /// Every published inspection of this institution, newest first.
    pub inspections: Vec<PublicInspection>,
}

/// Every published inspection of one institution.
#[utoipa::path(get, path = "/public/v1/institutions/{id}/history", tag = "public",
    params(("id" = String, Path)),
    responses((status = 200, body = InstitutionHistory, headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified"),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn institution_history(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let cards =
        publication::institution_cards(state.store.pool(), std::slice::from_ref(&id)).await?;
    let Some((name, credit_code, region, kind)) = cards.get(&id).cloned() else {
        return Err(ApiError::NotFound(format!("no institution with id {id}")));
    };
    let mut inspections = Vec::new();
    for task_id in publication::tasks_of_institution(state.store.pool(), &id).await? {
        let task = published_task(&state, &task_id).await?;
        let view = public_view(&state, task.clone()).await?;
        if let Some(selection) = view.selections.into_iter().find(|s| s.institution.id == id) {
            inspections.push(PublicInspection {
                task: summary(&state, task),
                selection,
            });
        }
    }
    cached_json(
        &headers,
        &InstitutionHistory {
            institution: PublicInstitution {
                id,
                name,
                credit_code,
                region,
                kind_zh: kind_label(&kind),
                kind,
            },
            inspections,
        },
    )
}

/// Every published result, one row each (CSV, UTF-8 with BOM so spreadsheet programs
/// read the Chinese text correctly).
#[utoipa::path(get, path = "/public/v1/results.csv", tag = "public",
    responses((status = 200, description = "CSV", content_type = "text/csv", body = String,
               headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified")))]
async fn results_csv(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record([
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
        ])
        .map_err(|e| ApiError::Internal(e.into()))?;
        let filter = TaskFilter {
            state: vec!["published".into(), "closed".into()],
            ..Default::default()
        };
        let mut after = None;
        loop {
            let (tasks, next) = task_store::list(state.store.pool(), &filter, after, 200).await?;
            for task in tasks {
                let view = public_view(&state, task).await?;
                for s in &view.selections {
                    let Some(r) = &s.result else { continue };
                    let follow: Vec<String> = r
                        .current
                        .data
                        .follow_up
                        .iter()
                        .map(|f| f.label_zh().to_string())
                        .collect();
                    w.write_record([
                        view.id.as_str(),
                        &view.title,
                        &view.year.to_string(),
                        &view.round.to_string(),
                        &view.lead_department,
                        &s.institution.id,
                        &s.institution.name,
                        &s.institution.credit_code,
                        &s.institution.region,
                        r.current.data.category.code(),
                        &r.current.category_zh,
                        &r.current.data.inspection_date.to_string(),
                        &r.current.data.findings,
                        &r.current.data.amounts.fund_recovered_fen.to_string(),
                        &r.current.data.amounts.penalty_fen.to_string(),
                        &r.current.data.amounts.violations.to_string(),
                        &follow.join("; "),
                        &r.current.version.to_string(),
                        &r.current.published_at,
                        &view
                            .deadlines
                            .results_due
                            .map(|d| d.to_string())
                            .unwrap_or_default(),
                        match r.on_time {
                            Some(true) => "yes",
                            Some(false) => "no",
                            None => "",
                        },
                    ])
                    .map_err(|e| ApiError::Internal(e.into()))?;
                }
            }
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        w.flush().map_err(|e| ApiError::Internal(e.into()))?;
    }
    Ok(cached(&headers, "text/csv; charset=utf-8", out))
}

/// New publications (drawn lists and results), newest first, as an Atom feed.
#[utoipa::path(get, path = "/public/v1/feed.atom", tag = "public",
    responses((status = 200, description = "Atom feed", content_type = "application/atom+xml", body = String,
               headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified")))]
async fn feed(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    use atom_syndication::{Entry, Feed, FixedDateTime, Link, Text};
    let base = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| format!("http://{h}"))
        .unwrap_or_default();
    let parse = |s: &str| FixedDateTime::parse_from_rfc3339(s).ok();
    let filter = TaskFilter {
        state: vec!["published".into(), "closed".into()],
        ..Default::default()
    };
    let mut entries: Vec<Entry> = Vec::new();
    let mut after = None;
    loop {
        let (tasks, next) = task_store::list(state.store.pool(), &filter, after, 200).await?;
        for task in tasks {
            let link = |href: String| Link {
                href,
                rel: "alternate".into(),
                ..Default::default()
            };
            if let Some(at) = task.published_at.as_deref().and_then(parse) {
                entries.push(Entry {
                    id: format!("urn:suiji:task:{}:selection", task.id),
                    title: Text::plain(format!("公布抽查名单：{}", task.config.title)),
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
            let latest = publication::results(state.store.pool(), &task.id)
                .await?
                .into_iter()
                .filter_map(|r| r.published_at)
                .max();
            if let Some(at) = latest.as_deref().and_then(parse) {
                entries.push(Entry {
                    id: format!("urn:suiji:task:{}:results:{}", task.id, at.to_rfc3339()),
                    title: Text::plain(format!("公布抽查结果：{}", task.config.title)),
                    updated: at,
                    links: vec![link(format!("{base}/tasks/{}", task.id))],
                    ..Default::default()
                });
            }
        }
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.updated));
    entries.truncate(100);
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
    Ok(cached(
        &headers,
        "application/atom+xml; charset=utf-8",
        feed.to_string().into_bytes(),
    ))
}
