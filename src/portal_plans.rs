//! The portal's pages of annual plans (抽查计划公示): `GET /plans` lists the published
//! plans, `GET /plans/{id}` shows one with its groups, ratios or goals, rounds and
//! windows, items, progress and every published version. Built from the plans library
//! (no API module), cached like the other portal pages.

use crate::domain::plan::{Goal, InspectionMethod, PlanRule};
use crate::error::ApiError;
use crate::plans::{self, PublicPlan};
use crate::publication::{Built, Publication, Site};
use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRef, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use utoipa_axum::{router::OpenApiRouter, routes};

const HTML: &str = "text/html; charset=utf-8";

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<Publication>: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(portal_plans))
        .routes(routes!(portal_plan))
}

fn html(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(HTML));
    resp
}

fn page_error(e: ApiError) -> Response {
    let status = e.status();
    if status.is_server_error() {
        tracing::error!(error = %e, "portal plan page failed");
    }
    html(
        status,
        format!(
            "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>{0}</title><p>{1}</p><p><a href=\"/plans\">年度抽查计划 Annual plans</a></p></html>",
            status.as_u16(),
            if status == StatusCode::NOT_FOUND {
                "没有这项已公示的抽查计划。 No published plan has this id."
            } else {
                "服务暂时不可用 Server error"
            }
        ),
    )
}

fn render(t: &impl Template) -> Result<String, ApiError> {
    t.render()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("rendering a portal page: {e}")))
}

struct PlanRow {
    id: String,
    title: String,
    year: i32,
    groups: usize,
    rounds: usize,
    version: i64,
    published_at: String,
}

#[derive(Template)]
#[template(path = "portal/plans.html")]
struct PlansPage {
    site: Site,
    plans: Vec<PlanRow>,
}

struct GroupRow {
    id: String,
    name: String,
    responsible_unit: String,
    share: String,
    check_contents: String,
    population: u64,
    drawn: u64,
    goal: u64,
    remaining: u64,
}

struct RoundRow {
    round: u32,
    window: String,
    state: String,
    task: Option<String>,
    drawn: u64,
    overdue: bool,
}

#[derive(Template)]
#[template(path = "portal/plan.html")]
struct PlanPage {
    site: Site,
    title: String,
    year: i32,
    lead: String,
    departments: String,
    rule: &'static str,
    method: &'static str,
    expense_period: String,
    cross_region: &'static str,
    items: String,
    version: i64,
    published_at: String,
    groups: Vec<GroupRow>,
    rounds: Vec<RoundRow>,
    phases: Vec<String>,
    versions: Vec<String>,
}

/// The published annual plans (HTML).
#[utoipa::path(get, path = "/plans", tag = "public",
    responses((status = 200, description = "Published annual plans (HTML)", content_type = "text/html", body = String,
               headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified")))]
async fn portal_plans(State(p): State<Arc<Publication>>, headers: HeaderMap) -> Response {
    p.cache
        .serve(p.store(), &headers, "portal/plans".into(), HTML, || async {
            let list = plans::public_plans(p.store(), None)
                .await
                .map_err(|e| page_error(e.into()))?;
            let page = PlansPage {
                site: p.site.clone(),
                plans: list
                    .into_iter()
                    .map(|s| PlanRow {
                        id: s.id,
                        title: s.title,
                        year: s.year,
                        groups: s.groups,
                        rounds: s.rounds,
                        version: s.version,
                        published_at: s.published_at.unwrap_or_default(),
                    })
                    .collect(),
            };
            render(&page)
                .map(|b| Built::from(b.into_bytes()))
                .map_err(page_error)
        })
        .await
        .unwrap_or_else(|r| r)
}

/// A published plan's page (HTML): groups, ratios or goals, rounds, progress, versions.
#[utoipa::path(get, path = "/plans/{id}", tag = "public", params(("id" = String, Path)),
    responses((status = 200, description = "A published plan (HTML)", content_type = "text/html", body = String,
               headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified"),
              (status = 404, description = "No published plan with this id (HTML)", content_type = "text/html", body = String)))]
async fn portal_plan(
    State(p): State<Arc<Publication>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(id)) = id else {
        return page_error(ApiError::NotFound("no such plan".into()));
    };
    let key = format!("portal/plans/{id}@{}", p.store().clock().china_today());
    p.cache
        .serve(p.store(), &headers, key, HTML, || async {
            let plan = plans::public_plan(p.store(), &id)
                .await
                .map_err(|e| page_error(e.into()))?
                .ok_or_else(|| page_error(ApiError::NotFound("no published plan".into())))?;
            render(&plan_page(p.site.clone(), plan))
                .map(|b| Built::from(b.into_bytes()))
                .map_err(page_error)
        })
        .await
        .unwrap_or_else(|r| r)
}

fn plan_page(site: Site, v: PublicPlan) -> PlanPage {
    let plan = &v.plan;
    let groups = plan
        .groups
        .iter()
        .zip(&v.progress.groups)
        .map(|(g, p)| {
            let mut share = match (&g.ratio, &g.goal) {
                (Some(r), _) => format!("每轮 {}/{}", r.num, r.den),
                (_, Some(Goal::Share(r))) => format!("全年不低于 {}/{}", r.num, r.den),
                (_, Some(Goal::Full(_))) => "全覆盖 100 %".into(),
                _ => String::new(),
            };
            for gr in &g.risk_ratios {
                share.push_str(&format!(
                    "；{} 级 {}/{}",
                    gr.grade.as_str(),
                    gr.ratio.num,
                    gr.ratio.den
                ));
            }
            GroupRow {
                id: g.id.clone(),
                name: g.name.clone(),
                responsible_unit: g.responsible_unit.clone(),
                share,
                check_contents: g.check_contents.clone(),
                population: p.population,
                drawn: p.drawn,
                goal: p.goal,
                remaining: p.remaining,
            }
        })
        .collect();
    let rounds = v
        .progress
        .rounds
        .iter()
        .map(|r| RoundRow {
            round: r.round,
            window: format!(
                "{} 至 {}",
                r.start.map(|d| d.to_string()).unwrap_or_default(),
                r.end.map(|d| d.to_string()).unwrap_or_default()
            ),
            state: r.state.clone(),
            task: r.task_id.clone(),
            drawn: r.drawn,
            overdue: r.overdue,
        })
        .collect();
    PlanPage {
        site,
        title: plan.title.clone(),
        year: plan.year,
        lead: format!(
            "{}（{} {}）",
            plan.lead_department, v.organization_name, v.organization
        ),
        departments: plan
            .departments
            .iter()
            .map(|d| match d.team_size_max.filter(|m| *m > d.team_size) {
                Some(m) => format!("{}（每组 {}–{} 人）", d.code, d.team_size, m),
                None => format!("{}（每组 {} 人）", d.code, d.team_size),
            })
            .collect::<Vec<_>>()
            .join("、"),
        rule: match plan.rule {
            PlanRule::NoRepeat => "不重复抽取 no_repeat（前轮已抽中的机构不再抽取）",
            PlanRule::Coverage => "覆盖目标 coverage（最后一轮恰好达到目标）",
        },
        method: match plan.inspection_method {
            Some(InspectionMethod::OnSite) => "现场检查 on site",
            Some(InspectionMethod::Documentary) => "书面检查 documentary",
            Some(InspectionMethod::ThirdParty) => "委托第三方 third party",
            None => "—",
        },
        expense_period: plan
            .expense_period
            .as_ref()
            .map_or("—".into(), |p| format!("{} 至 {}", p.start, p.end)),
        cross_region: if plan.cross_region {
            "是 yes"
        } else {
            "否 no"
        },
        items: if plan.items.is_empty() {
            "—".into()
        } else {
            plan.items.join("、")
        },
        version: v.version,
        published_at: v.published_at.clone().unwrap_or_default(),
        groups,
        rounds,
        phases: plan
            .phases
            .iter()
            .map(|p| format!("{}：{} 至 {}", p.name, p.start, p.end))
            .collect(),
        versions: v
            .versions
            .iter()
            .map(|x| match &x.reason {
                Some(r) => format!("第 {} 版（{}）修订：{}", x.version, x.at, r),
                None => format!("第 {} 版（{}）首次公示", x.version, x.at),
            })
            .collect(),
    }
}
