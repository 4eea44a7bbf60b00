//! `/api/v1/vocabulary/results`: the result vocabulary of issue 15 (violation types,
//! handling forms with their statistics columns, inspection methods), codes and labels.

use super::AppState;
use super::extract::Reader;
use super::problems::ListProblems;
use crate::domain::result::{HandlingForm, InspectionMethod, ViolationType};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(result_vocabulary))
}

/// A stable code and its Chinese label.
#[derive(Debug, Serialize, ToSchema)]
pub struct Term {
    pub code: &'static str,
    pub label_zh: &'static str,
}

/// A handling form and the column of the seed 001 monthly table it counts in.
#[derive(Debug, Serialize, ToSchema)]
pub struct HandlingTerm {
    pub code: &'static str,
    pub label_zh: &'static str,
    /// 5–12; null: counted apart (挂牌督办).
    pub column: Option<u8>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResultVocabulary {
    pub violation_types: Vec<Term>,
    pub handling_forms: Vec<HandlingTerm>,
    pub inspection_methods: Vec<Term>,
}

/// The codes a result's `violation_types`, `handling` and `method` take.
#[utoipa::path(get, path = "/api/v1/vocabulary/results", tag = "publication",
    security(("bearer" = [])),
    responses((status = 200, body = ResultVocabulary), ListProblems))]
async fn result_vocabulary(_: Reader) -> Json<ResultVocabulary> {
    Json(ResultVocabulary::current())
}

impl ResultVocabulary {
    /// The codes and labels this server takes in a result.
    fn current() -> Self {
        ResultVocabulary {
            violation_types: ViolationType::ALL
                .iter()
                .map(|v| Term {
                    code: v.code(),
                    label_zh: v.label_zh(),
                })
                .collect(),
            handling_forms: HandlingForm::ALL
                .iter()
                .map(|h| HandlingTerm {
                    code: h.code(),
                    label_zh: h.label_zh(),
                    column: Some(h.column()).filter(|c| *c > 0),
                })
                .collect(),
            inspection_methods: InspectionMethod::ALL
                .iter()
                .map(|m| Term {
                    code: m.code(),
                    label_zh: m.label_zh(),
                })
                .collect(),
        }
    }
}
