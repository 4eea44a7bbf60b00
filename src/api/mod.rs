//! The HTTP API. One module per resource, each exposing `router()`; handlers stay thin:
//! extract and check the request, call the store or the draw engine, shape the response.
//! Routes are registered with their OpenAPI description (utoipa-axum), so a route cannot
//! exist without its entry in `openapi.yaml`.

pub mod announce;
pub mod audit;
/// The public blacklist: listing and delisting decisions (issue 15 part 7).
pub mod blacklist;
/// Bulk import and export of the registries.
pub mod bulk;
/// The official working-day calendar and deadlines.
pub mod calendar;
/// The clue ledger (issue 15 part 4).
pub mod clues;
/// The credit publicity export and its delivery log (issue 15 part 8).
pub mod credit;
/// Departments taking part in joint inspections.
pub mod departments;
/// Dispatch: a department's inbox, an inspector's assignments.
pub mod dispatch;
mod download;
/// Evidence attached to results (never public).
pub mod evidence;
/// Request extractors that reject bad input as problem documents.
pub mod extract;
/// The registry listings' query parameters and typed filters (listings and exports).
pub mod filters;
/// After the inspection (issue 15): rectifications, referrals, major cases.
pub mod followup;
/// The printable on-site check form of a drawn institution.
pub mod form;
/// The inspector registry and its conflicts of interest.
pub mod inspectors;
/// The institution registry.
pub mod institutions;
/// Inspection-item lists.
pub mod items;
/// Record lists (issue 14): patients, bills… drawn from by sample tasks (never public).
pub mod lists;
/// Objections to published results (issue 15 part 5).
pub mod objections;
/// Liveness, readiness, the API description.
pub mod ops;
/// Organizations (省/市/县 jurisdictions) of each department.
pub mod organizations;
/// Annual plans (抽查计划): drafts, publication, amendments, round tasks, progress.
pub mod plans;
/// The problem responses of each kind of endpoint, declared once.
pub mod problems;
/// What the public reads: published tasks, results, bundles, feed.
pub mod public;
/// What the public reads of annual plans: published plans, their versions and progress.
pub mod public_plans;
/// What the public reads of statistics and institutions (issue 15 part 7).
pub mod public_stats;
/// The patterns of the query parameters, from the vocabularies the handlers check.
pub mod query_rules;
/// Re-check samples: the comparison report.
pub mod recheck;
/// Names of administrative divisions, for the public pages.
pub mod regions;
/// Shapes and steps shared by the registry resources.
pub mod registry;
/// Reports: overdue disclosures.
pub mod reports;
/// Publishing drawn lists and results.
pub mod results;
/// Statistics: the seed 001 monthly table, submissions (issue 15).
pub mod statistics;
/// Joint draw tasks: commit, seal, reveal, draw, replace, bundle.
pub mod tasks;
/// The coordinator's task view and the bundle, shared by the task endpoints.
pub mod views;
/// The result vocabulary (issue 15): violation types, handling forms, methods.
pub mod vocabulary;
/// Webhook subscriptions and their delivery log.
pub mod webhooks;
/// What the generated description adds so it matches the wire (400 and 415 responses).
pub mod wire;

use crate::auth::Authenticator;
use crate::domain::calendar::Calendar;
use crate::error::{FieldError, Problem, RowError};
use crate::store::Store;
use std::sync::Arc;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub auth: Arc<Authenticator>,
    pub openapi_yaml: Arc<str>,
    /// Largest file the import endpoints accept, in bytes.
    pub import_limit: usize,
    /// Largest evidence file accepted, in bytes.
    pub evidence_limit: usize,
    /// The official working-day calendar: built-in years plus years loaded by admins.
    pub calendar: Arc<std::sync::RwLock<Calendar>>,
    /// The publication read model and its cache of built public responses.
    pub publication: Arc<crate::publication::Publication>,
}

/// The portal and the public API take only the publication read model from the state.
impl axum::extract::FromRef<AppState> for Arc<crate::publication::Publication> {
    fn from_ref(state: &AppState) -> Self {
        state.publication.clone()
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "suiji",
        description = "双随机、一公开 joint inspections of the medical insurance fund: registries of \
institutions and inspectors, verifiable draws (suiji-draw/1), and publication. Every error is an \
RFC 9457 problem document (application/problem+json).",
        license(name = "Apache-2.0"),
    ),
    modifiers(&Additions),
    components(schemas(Problem, FieldError, RowError)),
    tags(
        (name = "registries", description = "一单两库: departments, institutions, inspectors, inspection items"),
        (name = "tasks", description = "抽查任务: joint draws from configuration to the verifiable bundle"),
        (name = "lists", description = "名单: record lists (patients, bills…) for sample tasks, never public"),
        (name = "plans", description = "抽查计划: annual plans, their rounds and progress"),
        (name = "publication", description = "一公开: publishing drawn lists and results"),
        (name = "public", description = "一公开: public, read-only, no token"),
        (name = "calendar", description = "工作日: the official working-day calendar and disclosure deadlines"),
        (name = "audit", description = "全程留痕: the append-only audit chain"),
        (name = "ops", description = "Health and the API description"),
    )
)]
struct ApiDoc;

struct Additions;

impl Modify for Additions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        // The interactive documentation is served by utoipa-swagger-ui, outside the
        // OpenApiRouter; describe its entry points here so the document lists every route.
        let docs = OperationBuilder::new()
            .tag("ops")
            .summary(Some(
                "Interactive API documentation (Swagger UI, works offline)",
            ))
            .response(
                "303",
                ResponseBuilder::new().description("Redirect to /docs/, the HTML page"),
            )
            .build();
        openapi
            .paths
            .add_path_operation("/docs", vec![HttpMethod::Get], docs);
        let json = OperationBuilder::new()
            .tag("ops")
            .summary(Some(
                "This API description as JSON, for the documentation page",
            ))
            .response(
                "200",
                ResponseBuilder::new().description("The OpenAPI document"),
            )
            .build();
        openapi
            .paths
            .add_path_operation("/docs/openapi.json", vec![HttpMethod::Get], json);
    }
}

/// Every documented route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(ops::router())
        .merge(departments::router())
        .merge(institutions::router())
        .merge(inspectors::router())
        .merge(organizations::router())
        .merge(bulk::router())
        .merge(items::router())
        .merge(tasks::router())
        .merge(recheck::router())
        .merge(clues::router())
        .merge(objections::router())
        .merge(plans::router())
        .merge(calendar::router())
        .merge(regions::router())
        .merge(results::router())
        .merge(form::router())
        .merge(public::router())
        .merge(public_plans::router())
        .merge(public_stats::router())
        .merge(blacklist::router())
        .merge(credit::router())
        .merge(announce::router())
        .merge(crate::portal::router())
        .merge(crate::portal_plans::router())
        .merge(crate::portal_stats::router())
        .merge(reports::router())
        .merge(audit::router())
        .merge(evidence::router())
        .merge(dispatch::router())
        .merge(webhooks::router())
        .merge(lists::router())
        .merge(vocabulary::router())
        .merge(followup::router())
        .merge(statistics::router())
}

/// What the generator cannot write from the routes alone: the responses every route
/// shares and the query parameters' patterns.
pub fn complete_document(doc: &mut utoipa::openapi::OpenApi) {
    wire::describe_shared_responses(doc);
    query_rules::state_query_patterns(doc);
    query_rules::state_unique_labels(doc);
}

/// The OpenAPI document of this build, as `openapi.yaml` holds it.
pub fn openapi_yaml() -> String {
    let (_, mut doc) = router().split_for_parts();
    complete_document(&mut doc);
    doc.to_yaml()
        .expect("the OpenAPI document serializes to YAML")
}
