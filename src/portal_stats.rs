//! The portal's statistics and institution pages (issue 15 part 7): `GET /statistics`
//! shows the public statistics of a year and a region as charts drawn on the server
//! (inline SVG: no JavaScript, the portal's CSP unchanged), each with a title, a
//! description and a table of the same numbers beside it; `GET /institutions` searches
//! institutions by name or credit code; `GET /institutions/{id}` is an institution's public
//! history. Built from the publication read model, cached like the other portal pages.

use crate::error::ApiError;
use crate::portal::yuan;
use crate::publication::stats::{PublicStatistics, PublicStatsFigures};
use crate::publication::{Built, InstitutionHistory, Publication, Site};
use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRef, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

const HTML: &str = "text/html; charset=utf-8";

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<Publication>: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(portal_statistics))
        .routes(routes!(portal_institutions))
        .routes(routes!(portal_institution))
        .routes(routes!(portal_blacklist))
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

#[derive(Template)]
#[template(path = "portal/message.html")]
struct MessagePage {
    site: Site,
    title: String,
    message: String,
}

/// An error as an HTML page.
fn error_page(site: &Site, e: ApiError) -> Response {
    let status = e.status();
    let (title, message) = match &e {
        ApiError::NotFound(_) => (
            "未找到 Not found".to_string(),
            "没有这家机构的已公布检查。 No published inspection of this institution.".to_string(),
        ),
        ApiError::Validation { errors, .. } => (
            "查询条件有误 Invalid search".to_string(),
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.reason))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        e if status.is_server_error() => {
            tracing::error!(error = %e, "portal page failed");
            (
                "服务暂时不可用 Server error".to_string(),
                "请稍后再试。".to_string(),
            )
        }
        e => ("请求有误 Bad request".to_string(), e.to_string()),
    };
    let body = render(&MessagePage {
        site: site.clone(),
        title,
        message,
    })
    .unwrap_or_else(|_| format!("<!doctype html><title>{}</title>", status.as_u16()));
    html(status, body)
}

// ---- charts ----

/// Width of a chart, its label column and its longest bar, in SVG units.
const WIDTH: u32 = 720;
const LABEL: u32 = 190;
const BAR: u32 = 400;
const ROW: u32 = 28;
const TOP: u32 = 8;

/// One coloured piece of a bar.
pub struct Segment {
    pub series: &'static str,
    pub label: &'static str,
    pub colour: &'static str,
    pub x: u32,
    pub width: u32,
    pub value: String,
}

pub struct BarRow {
    pub label: String,
    pub y: u32,
    pub text_y: u32,
    pub segments: Vec<Segment>,
    /// Where the value is written after the bar, and what.
    pub value_x: u32,
    pub value: String,
}

pub struct Legend {
    pub label: &'static str,
    pub colour: &'static str,
    pub x: u32,
}

/// A horizontal bar chart, drawn by the template as inline SVG.
pub struct Chart {
    pub id: &'static str,
    pub title: String,
    pub desc: String,
    pub width: u32,
    pub height: u32,
    pub rows: Vec<BarRow>,
    pub legend: Vec<Legend>,
    pub legend_y: u32,
    pub axis_x: u32,
}

struct Series {
    series: &'static str,
    label: &'static str,
    colour: &'static str,
}

/// A chart of `lines` (label, one value per series, the text after the bar), scaled to
/// the largest total.
fn chart(
    id: &'static str,
    title: String,
    desc: String,
    series: &[Series],
    lines: &[(String, Vec<f64>, Vec<String>, String)],
    max: Option<f64>,
) -> Chart {
    let largest = max.unwrap_or_else(|| {
        lines
            .iter()
            .map(|(_, v, _, _)| v.iter().sum::<f64>())
            .fold(0.0, f64::max)
    });
    let scale = |v: f64| -> u32 {
        if largest <= 0.0 {
            0
        } else {
            ((v / largest) * f64::from(BAR))
                .round()
                .clamp(0.0, f64::from(BAR)) as u32
        }
    };
    let rows: Vec<BarRow> = lines
        .iter()
        .enumerate()
        .map(|(i, (label, values, texts, value))| {
            let y = TOP + i as u32 * ROW;
            let mut x = LABEL;
            let segments = series
                .iter()
                .zip(values.iter().zip(texts))
                .map(|(s, (v, text))| {
                    let width = scale(*v);
                    let seg = Segment {
                        series: s.series,
                        label: s.label,
                        colour: s.colour,
                        x,
                        width,
                        value: text.clone(),
                    };
                    x += width;
                    seg
                })
                .collect();
            BarRow {
                label: label.clone(),
                y: y + 4,
                text_y: y + 19,
                segments,
                value_x: x + 6,
                value: value.clone(),
            }
        })
        .collect();
    let legend_y = TOP + rows.len() as u32 * ROW + 14;
    let legend = if series.len() > 1 {
        series
            .iter()
            .enumerate()
            .map(|(i, s)| Legend {
                label: s.label,
                colour: s.colour,
                x: LABEL + i as u32 * 130,
            })
            .collect()
    } else {
        Vec::new()
    };
    Chart {
        id,
        title,
        desc,
        width: WIDTH,
        height: legend_y + if legend.is_empty() { 0 } else { 20 },
        rows,
        legend,
        legend_y,
        axis_x: LABEL,
    }
}

fn percent(share: &Option<String>) -> String {
    share
        .as_deref()
        .and_then(|s| s.parse::<f64>().ok())
        .map_or_else(|| "—".to_string(), |v| format!("{:.1}%", v * 100.0))
}

/// The table line of one division (or the total).
pub struct Line {
    pub region: String,
    pub name: String,
    pub total: bool,
    pub f: PublicStatsFigures,
    pub funds: String,
    pub principal: String,
    pub penalty: String,
    pub on_time: String,
}

fn line(region: &str, name: &str, total: bool, f: &PublicStatsFigures) -> Line {
    Line {
        region: region.to_string(),
        name: name.to_string(),
        total,
        funds: yuan(f.funds_recovered_fen),
        principal: yuan(f.fund_principal_fen),
        penalty: yuan(f.penalty_fen),
        on_time: percent(&f.on_time_share),
        f: f.clone(),
    }
}

/// The four charts of a statistics view: one bar per division (or the total alone).
pub fn charts(s: &PublicStatistics) -> Vec<Chart> {
    let lines: Vec<(String, &PublicStatsFigures)> = if s.regions.is_empty() {
        vec![(s.region_name.clone(), &s.total)]
    } else {
        s.regions
            .iter()
            .map(|r| (format!("{} {}", r.name, r.region), &r.figures))
            .collect()
    };
    let scope = format!("{} 年，{}", s.year, s.region_name);
    let inspections = chart(
        "chart-inspections",
        format!("检查家次：随机抽查与定向检查（{scope}）"),
        format!(
            "每个地区一条横条，按双随机抽查、定向检查、抽查复查分段；合计 {} 家次，其中随机 {}、定向 {}、复查 {}。",
            s.total.inspections, s.total.random, s.total.targeted, s.total.recheck
        ),
        &[
            Series {
                series: "random",
                label: "双随机抽查",
                colour: "#0b4f9c",
            },
            Series {
                series: "targeted",
                label: "定向检查",
                colour: "#6b3fa0",
            },
            Series {
                series: "recheck",
                label: "抽查复查",
                colour: "#2a9d8f",
            },
        ],
        &lines
            .iter()
            .map(|(l, f)| {
                (
                    l.clone(),
                    vec![f.random as f64, f.targeted as f64, f.recheck as f64],
                    vec![
                        f.random.to_string(),
                        f.targeted.to_string(),
                        f.recheck.to_string(),
                    ],
                    f.inspections.to_string(),
                )
            })
            .collect::<Vec<_>>(),
        None,
    );
    let single =
        |id, title: String, desc: String, label, colour, values: Vec<(f64, String)>, max| {
            chart(
                id,
                title,
                desc,
                &[Series {
                    series: "value",
                    label,
                    colour,
                }],
                &lines
                    .iter()
                    .zip(values)
                    .map(|((l, _), (v, text))| (l.clone(), vec![v], vec![text.clone()], text))
                    .collect::<Vec<_>>(),
                max,
            )
        };
    let problems = single(
        "chart-problems",
        format!("发现问题（家次）（{scope}）"),
        format!(
            "每个地区发现问题的检查家次；合计 {}。",
            s.total.problems_found
        ),
        "发现问题",
        "#b3261e",
        lines
            .iter()
            .map(|(_, f)| (f.problems_found as f64, f.problems_found.to_string()))
            .collect(),
        None,
    );
    let funds = single(
        "chart-funds",
        format!("追回金额（元）（{scope}）"),
        format!(
            "每个地区追回的医保基金（含违约金）；合计 {} 元。",
            yuan(s.total.funds_recovered_fen)
        ),
        "追回金额",
        "#1e6b2e",
        lines
            .iter()
            .map(|(_, f)| (f.funds_recovered_fen as f64, yuan(f.funds_recovered_fen)))
            .collect(),
        None,
    );
    let on_time = single(
        "chart-on-time",
        format!("按时公开率（{scope}）"),
        format!(
            "每个地区按期限公开全部结果的任务所占比例（0–100%）；合计 {}（按时 {}、逾期 {}、未到期 {}）。",
            percent(&s.total.on_time_share),
            s.total.tasks_on_time,
            s.total.tasks_late,
            s.total.tasks_pending
        ),
        "按时公开率",
        "#12365f",
        lines
            .iter()
            .map(|(_, f)| {
                (
                    f.on_time_share
                        .as_deref()
                        .and_then(|x| x.parse::<f64>().ok())
                        .unwrap_or(0.0),
                    percent(&f.on_time_share),
                )
            })
            .collect(),
        Some(1.0),
    );
    vec![inspections, problems, funds, on_time]
}

// ---- /statistics ----

/// The statistics form as the browser sends it: every field optional, empty means the
/// default (this year, everywhere).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatisticsPageQuery {
    /// Year, 2000–2100; empty: this year.
    #[param(pattern = "^(?:20[0-9]{2}|2100)?$")]
    pub year: Option<String>,
    /// Division code prefix (2, 4 or 6 digits); empty: everywhere.
    #[param(pattern = "^(?:[0-9]{2}|[0-9]{4}|[0-9]{6})?$")]
    pub region_prefix: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/statistics.html")]
struct StatisticsPage {
    site: Site,
    year: String,
    region_prefix: String,
    stats: PublicStatistics,
    charts: Vec<Chart>,
    lines: Vec<Line>,
    json_link: String,
}

/// Public statistics with charts (HTML, inline SVG).
#[utoipa::path(get, path = "/statistics", tag = "public", params(StatisticsPageQuery),
    responses((status = 200, description = "The statistics page (HTML with inline SVG charts)",
               content_type = "text/html", body = String,
               headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified"),
              (status = 400, description = "A query string that cannot be read (HTML)",
               content_type = "text/html", body = String),
              (status = 422, description = "An invalid year or region, explained on the page",
               content_type = "text/html", body = String)))]
async fn portal_statistics(
    State(publication): State<Arc<Publication>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let p = &publication;
    let raw = raw.unwrap_or_default();
    let key = format!(
        "portal/statistics@{}?{raw}",
        p.store().clock().china_today()
    );
    p.cache
        .serve(p.store(), &headers, key, HTML, || async {
            statistics_page(p, &raw)
                .await
                .map(|b| Built::from(b.into_bytes()))
                .map_err(|e| error_page(&p.site, e))
        })
        .await
        .unwrap_or_else(|r| r)
}

fn blank(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

async fn statistics_page(p: &Publication, raw: &str) -> Result<String, ApiError> {
    let q: StatisticsPageQuery = serde_urlencoded::from_str(raw)
        .map_err(|e| ApiError::BadRequest(format!("查询参数无法解析: {e}")))?;
    let year = match blank(&q.year) {
        None => None,
        Some(y) if y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()) => {
            Some(y.parse::<i64>().unwrap_or_default())
        }
        Some(_) => return Err(ApiError::field("year", "请填写四位数字年份（2000–2100）")),
    };
    let stats = p.statistics(year, blank(&q.region_prefix)).await?;
    let mut lines: Vec<Line> = stats
        .regions
        .iter()
        .map(|r| line(&r.region, &r.name, false, &r.figures))
        .collect();
    lines.push(line(
        &stats.region_prefix,
        &format!("合计 {}", stats.region_name),
        true,
        &stats.total,
    ));
    let mut link = form_urlencoded::Serializer::new(String::new());
    link.append_pair("year", &stats.year.to_string());
    if !stats.region_prefix.is_empty() {
        link.append_pair("region_prefix", &stats.region_prefix);
    }
    render(&StatisticsPage {
        site: p.site.clone(),
        year: stats.year.to_string(),
        region_prefix: stats.region_prefix.clone(),
        charts: charts(&stats),
        json_link: format!("/public/v1/statistics?{}", link.finish()),
        lines,
        stats,
    })
}

// ---- /institutions ----

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InstitutionsPageQuery {
    /// A part of the name, or the whole 统一社会信用代码; empty: the form alone.
    #[param(max_length = 64, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub q: Option<String>,
    /// The next page's cursor, from the previous page's link.
    #[param(
        pattern = "^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$"
    )]
    pub cursor: Option<String>,
}

struct HitRow {
    id: String,
    name: String,
    credit_code: String,
    region: String,
    kind: String,
    inspections: i64,
}

#[derive(Template)]
#[template(path = "portal/institutions.html")]
struct InstitutionsPage {
    site: Site,
    q: String,
    searched: bool,
    hits: Vec<HitRow>,
    next_page: Option<String>,
}

/// Institutions a published task drew, by name or credit code (HTML).
#[utoipa::path(get, path = "/institutions", tag = "public", params(InstitutionsPageQuery),
    responses((status = 200, description = "The search form and its hits (HTML)",
               content_type = "text/html", body = String,
               headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified"),
              (status = 400, description = "A query string that cannot be read (HTML)",
               content_type = "text/html", body = String),
              (status = 422, description = "An invalid search, explained on the page",
               content_type = "text/html", body = String)))]
async fn portal_institutions(
    State(publication): State<Arc<Publication>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let p = &publication;
    let raw = raw.unwrap_or_default();
    let key = format!("portal/institutions?{raw}");
    p.cache
        .serve(p.store(), &headers, key, HTML, || async {
            institutions_page(p, &raw)
                .await
                .map(|b| Built::from(b.into_bytes()))
                .map_err(|e| error_page(&p.site, e))
        })
        .await
        .unwrap_or_else(|r| r)
}

async fn institutions_page(p: &Publication, raw: &str) -> Result<String, ApiError> {
    let q: InstitutionsPageQuery = serde_urlencoded::from_str(raw)
        .map_err(|e| ApiError::BadRequest(format!("查询参数无法解析: {e}")))?;
    let term = q.q.clone().unwrap_or_default();
    if term.trim().is_empty() {
        // No search, but a cursor is still checked (the search checks its own): the
        // document states its shape.
        crate::publication::stats::search_cursor(blank(&q.cursor))?;
        // Check the length and characters even of a blank term, as the document says.
        if term.chars().count() > crate::publication::stats::SEARCH_MAX_CHARS
            || term.chars().any(char::is_control)
        {
            crate::publication::stats::search_term(Some(&term))?;
        }
        return render(&InstitutionsPage {
            site: p.site.clone(),
            q: String::new(),
            searched: false,
            hits: Vec::new(),
            next_page: None,
        });
    }
    let found = p
        .search_institutions(Some(&term), blank(&q.cursor), None)
        .await?;
    let next_page = found.next_cursor.as_ref().map(|c| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("q", &found.q);
        s.append_pair("cursor", c);
        format!("/institutions?{}", s.finish())
    });
    render(&InstitutionsPage {
        site: p.site.clone(),
        q: found.q.clone(),
        searched: true,
        hits: found
            .items
            .into_iter()
            .map(|h| HitRow {
                kind: crate::domain::registry::InstitutionKind::parse(&h.kind)
                    .map(|k| k.label_zh().to_string())
                    .unwrap_or(h.kind),
                id: h.id,
                name: h.name,
                credit_code: h.credit_code,
                region: h.region,
                inspections: h.inspections,
            })
            .collect(),
        next_page,
    })
}

// ---- /institutions/{id} ----

struct InspectionRow {
    task_id: String,
    task_title: String,
    year: i32,
    round: u32,
    mode: &'static str,
    inspection: String,
    result: String,
    date: String,
    funds: String,
    penalty: String,
    handling: String,
}

#[derive(Template)]
#[template(path = "portal/institution.html")]
struct InstitutionPage {
    site: Site,
    id: String,
    name: String,
    credit_code: String,
    region: String,
    kind: String,
    rows: Vec<InspectionRow>,
}

/// An institution's published inspections (HTML): the portal page of
/// `/public/v1/institutions/{id}/history`.
#[utoipa::path(get, path = "/institutions/{id}", tag = "public", params(("id" = String, Path)),
    responses((status = 200, description = "The institution's public history (HTML)",
               content_type = "text/html", body = String,
               headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified"),
              (status = 404, description = "No published inspection of this institution (HTML)",
               content_type = "text/html", body = String)))]
async fn portal_institution(
    State(publication): State<Arc<Publication>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(id)) = id else {
        return error_page(
            &publication.site,
            ApiError::NotFound("no such institution".into()),
        );
    };
    let p = &publication;
    let key = format!("portal/institutions/{id}");
    p.cache
        .serve(p.store(), &headers, key, HTML, || async {
            institution_page(p, &id)
                .await
                .map(|b| Built::from(b.into_bytes()))
                .map_err(|e| error_page(&p.site, e))
        })
        .await
        .unwrap_or_else(|r| r)
}

fn history_rows(h: &InstitutionHistory) -> Vec<InspectionRow> {
    h.inspections
        .iter()
        .map(|i| {
            let r = i.selection.result.as_ref();
            InspectionRow {
                task_id: i.task.id.clone(),
                task_title: i.task.title.clone(),
                year: i.task.year,
                round: i.task.round,
                mode: match i.task.mode {
                    crate::domain::targeted::TaskMode::Random => "双随机抽查",
                    crate::domain::targeted::TaskMode::Targeted => "定向检查",
                    crate::domain::targeted::TaskMode::Recheck => "抽查复查",
                },
                inspection: format!("{} 至 {}", i.task.inspection_start, i.task.inspection_end),
                result: r.map_or_else(
                    || "结果未公布".to_string(),
                    |r| r.current.category_zh.clone(),
                ),
                date: r.map_or_else(String::new, |r| r.current.data.inspection_date.to_string()),
                funds: r.map_or_else(String::new, |r| {
                    yuan(r.current.data.amounts.fund_recovered_fen)
                }),
                penalty: r.map_or_else(String::new, |r| yuan(r.current.data.amounts.penalty_fen)),
                handling: r.map_or_else(String::new, |r| {
                    r.current
                        .data
                        .handling_forms()
                        .iter()
                        .map(|f| f.label_zh())
                        .collect::<Vec<_>>()
                        .join("、")
                }),
            }
        })
        .collect()
}

async fn institution_page(p: &Publication, id: &str) -> Result<String, ApiError> {
    let h = p
        .history(id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no published inspection".into()))?;
    render(&InstitutionPage {
        site: p.site.clone(),
        rows: history_rows(&h),
        id: h.institution.id.clone(),
        name: h.institution.name.clone(),
        credit_code: h.institution.credit_code.clone(),
        region: h.institution.region.clone(),
        kind: h.institution.kind_zh.clone(),
    })
}

// ---- /blacklist ----

#[derive(Template)]
#[template(path = "portal/blacklist.html")]
struct BlacklistPage {
    site: Site,
    list: crate::publication::stats::PublicBlacklist,
}

/// The public blacklist (HTML).
#[utoipa::path(get, path = "/blacklist", tag = "public",
    responses((status = 200, description = "The blacklist (HTML)",
               content_type = "text/html", body = String,
               headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified")))]
async fn portal_blacklist(
    State(publication): State<Arc<Publication>>,
    headers: HeaderMap,
) -> Response {
    let p = &publication;
    let key = format!("portal/blacklist@{}", p.store().clock().china_today());
    p.cache
        .serve(p.store(), &headers, key, HTML, || async {
            let list = p.blacklist().await.map_err(|e| error_page(&p.site, e))?;
            render(&BlacklistPage {
                site: p.site.clone(),
                list,
            })
            .map(|b| Built::from(b.into_bytes()))
            .map_err(|e| error_page(&p.site, e))
        })
        .await
        .unwrap_or_else(|r| r)
}
