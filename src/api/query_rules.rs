//! Makes the OpenAPI document state what the query parameters accept, from the same
//! vocabularies the handlers check them against: a comma-separated list names its values
//! (or their syntax), a cursor its shape. A client (or a contract fuzzer) that builds a
//! request from the document alone is then not refused on a rule it could not read.
//!
//! Applied to the whole document once the routes are merged, like [`super::wire`], so a
//! new listing that reuses a parameter name gets its rule without repeating it.
//!
//! Each pattern is a subset of what the server takes (it also accepts blanks around the
//! values and empty entries, which a document need not advertise), never a superset.

use crate::domain::MAX_LIST_VALUES;
use crate::domain::registry::{
    InspectorStatus, InstitutionKind, InstitutionStatus, ItemStatus, Level, Ownership, RiskGrade,
};
use crate::domain::task::TaskState;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::{OpenApi, RefOr, Schema};

/// A department code, as `DepartmentCode::parse` takes it.
const DEPARTMENT: &str = "[a-z][a-z0-9_]{1,31}";
/// A region prefix: province, city or county.
const REGION_PREFIX: &str = "[0-9]{2}|[0-9]{4}|[0-9]{6}";
/// A UUID as `uuid::Uuid::parse_str` takes it (the hyphenated form we issue).
const UUID: &str = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
/// A tag as `check_text(…, true, 64)` takes it, without a comma (the list separator):
/// no control, bidirectional or replacement character, no blank at either end.
const TAG: &str = "[^,\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^,\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]{0,62}[^,\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?";

fn alternatives(values: impl IntoIterator<Item = &'static str>) -> String {
    values.into_iter().collect::<Vec<_>>().join("|")
}

/// A comma-separated list of at most [`MAX_LIST_VALUES`] values, each matching `value`;
/// empty means "no filter", as [`crate::domain::filter::list_values`] reads it.
fn list(value: &str) -> String {
    format!(
        "^(?:(?:{value})(?:,(?:{value})){{0,{}}})?$",
        MAX_LIST_VALUES - 1
    )
}

/// The pattern of query parameter `name` of the operation at `path`, when it has one.
fn rule(path: &str, name: &str) -> Option<String> {
    let institutions = path.starts_with("/api/v1/institutions");
    let inspectors = path.starts_with("/api/v1/inspectors");
    let items = path.starts_with("/api/v1/inspection-items");
    let public = path.starts_with("/public/") || path == "/";
    Some(match name {
        // The inbox is one department's.
        "department" if path == "/api/v1/inbox" => format!("^{DEPARTMENT}$"),
        "department" | "lead_department" | "participating_department" => list(DEPARTMENT),
        "region_prefix" => list(REGION_PREFIX),
        "kind" | "institution_kind" => list(&alternatives(
            InstitutionKind::ALL.iter().map(|v| v.as_str()),
        )),
        "level" => list(&alternatives(Level::ALL.iter().map(|v| v.as_str()))),
        "ownership" => list(&alternatives(Ownership::ALL.iter().map(|v| v.as_str()))),
        "risk_grade" => list(&alternatives(RiskGrade::ALL.iter().map(|v| v.as_str()))),
        "tags" => list(TAG),
        "status" if institutions => list(&alternatives(
            InstitutionStatus::ALL.iter().map(|v| v.as_str()),
        )),
        "status" if inspectors => list(&alternatives(
            InspectorStatus::ALL.iter().map(|v| v.as_str()),
        )),
        "status" if items => list(&alternatives(ItemStatus::ALL.iter().map(|v| v.as_str()))),
        "state" if public => list("published|closed"),
        // A plan is a draft or published; one state at a time.
        "state" if path == "/api/v1/plans" => "^(?:draft|published)$".into(),
        "state" => list(&alternatives(TaskState::ALL.iter().map(|s| s.as_str()))),
        "credit_code" => "^[0-9A-HJ-NPQRTUWXY]{18}$".into(),
        "cursor" if path == "/api/v1/audit-log" => "^[0-9]{1,18}$".into(),
        "cursor" if path == "/public/v1/results.csv" => format!("^{UUID}\\.[0-9]{{1,18}}$"),
        "cursor" => format!("^{UUID}$"),
        // The portal's search form sends every field, empty meaning "any".
        "year" if path == "/" => "^(?:[0-9]{4})?$".into(),
        _ => return None,
    })
}

/// Sets the pattern of every string query parameter that has a rule and no pattern yet.
pub fn state_query_patterns(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            for p in op.parameters.iter_mut().flatten() {
                let RefOr::T(p) = p else { continue };
                if p.parameter_in != ParameterIn::Query {
                    continue;
                }
                let Some(RefOr::T(Schema::Object(o))) = p.schema.as_mut() else {
                    continue;
                };
                let is_string = matches!(
                    &o.schema_type,
                    utoipa::openapi::schema::SchemaType::Type(utoipa::openapi::Type::String)
                );
                if !is_string || o.pattern.is_some() || o.enum_values.is_some() {
                    continue;
                }
                let Some(pattern) = rule(path, &p.name) else {
                    continue;
                };
                // The portal's form fields may be left empty.
                o.pattern = Some(if path == "/" && p.name != "year" {
                    format!(
                        "^(?:{})?$",
                        pattern.trim_start_matches('^').trim_end_matches('$')
                    )
                } else {
                    pattern
                });
            }
        }
    }
}

/// Marks every list of labels (`tags`, `expertise`) as `uniqueItems`: the registries
/// refuse a repeated label, so the document says so (utoipa's derive cannot).
pub fn state_unique_labels(doc: &mut OpenApi) {
    use utoipa::openapi::schema::ArrayItems;
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    for schema in components.schemas.values_mut() {
        let RefOr::T(Schema::Object(o)) = schema else {
            continue;
        };
        for property in o.properties.values_mut() {
            let RefOr::T(Schema::Array(a)) = property else {
                continue;
            };
            if let ArrayItems::RefOrSchema(items) = &a.items
                && matches!(items.as_ref(), RefOr::Ref(r) if r.ref_location.ends_with("/Label"))
            {
                a.unique_items = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, s: &str) -> bool {
        regex::Regex::new(pattern).unwrap().is_match(s)
    }

    #[test]
    fn list_patterns_take_what_the_parser_takes_and_nothing_it_refuses() {
        let kinds = rule("/api/v1/institutions", "kind").unwrap();
        assert!(matches(&kinds, "designated_hospital,retail_pharmacy"));
        assert!(!matches(&kinds, "hospital"));
        assert!(!matches(&kinds, "designated_hospital,"));
        // Empty is "no filter", as the parser reads it.
        assert!(matches(&kinds, ""));
        let prefixes = rule("/api/v1/inspectors", "region_prefix").unwrap();
        assert!(matches(&prefixes, "15,1506,150602"));
        assert!(!matches(&prefixes, "150"));
        let many = vec!["15"; MAX_LIST_VALUES].join(",");
        assert!(matches(&prefixes, &many));
        assert!(!matches(&prefixes, &format!("{many},15")));
        let states = rule("/public/v1/tasks", "state").unwrap();
        assert!(matches(&states, "published,closed"));
        assert!(!matches(&states, "draft"));
        let plans = rule("/api/v1/plans", "state").unwrap();
        assert!(matches(&plans, "draft") && matches(&plans, "published"));
        assert!(!matches(&plans, "drawn") && !matches(&plans, "draft,published"));
    }

    #[test]
    fn lists_of_labels_are_unique_items_in_the_document() {
        let (_, mut doc) = crate::api::router().split_for_parts();
        crate::api::complete_document(&mut doc);
        let doc = serde_json::to_value(&doc).unwrap();
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["InstitutionInput"]["properties"]["tags"]["uniqueItems"],
            true
        );
        assert_eq!(
            schemas["InspectorInput"]["properties"]["expertise"]["uniqueItems"],
            true
        );
    }

    #[test]
    fn an_empty_list_parameter_is_no_filter_for_the_parser_too() {
        let parsed = crate::domain::filter::list_values("status", &Some(String::new()), |s| {
            Ok::<_, String>(s.to_string())
        });
        assert_eq!(parsed, Ok(Vec::new()));
    }

    #[test]
    fn cursors_have_the_shape_the_server_issues() {
        let id = "01a20ace-6052-76a3-99ee-cf6d20d45c7a";
        assert!(matches(&rule("/api/v1/tasks", "cursor").unwrap(), id));
        assert!(!matches(&rule("/api/v1/tasks", "cursor").unwrap(), ""));
        assert!(matches(
            &rule("/public/v1/results.csv", "cursor").unwrap(),
            &format!("{id}.12")
        ));
        assert!(matches(
            &rule("/api/v1/audit-log", "cursor").unwrap(),
            "1234"
        ));
    }

    #[test]
    fn every_state_is_in_the_task_state_vocabulary() {
        for s in TaskState::ALL {
            assert_eq!(TaskState::parse(s.as_str()), Ok(*s));
        }
    }

    /// Every free-text rule in the document is one of the two statements of
    /// `check_text` (required, or may be empty), copied without a slip: the literals are
    /// repeated field by field, so a typo would quietly document a different rule.
    #[test]
    fn every_text_rule_in_the_document_is_check_texts() {
        use crate::domain::registry::{REQUIRED_TEXT, optional_text};
        fn walk(v: &serde_json::Value, at: &str, out: &mut Vec<(String, String)>) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, x) in m {
                        if k == "pattern"
                            && let Some(p) = x.as_str()
                        {
                            out.push((at.to_string(), p.to_string()));
                        }
                        walk(x, &format!("{at}/{k}"), out);
                    }
                }
                serde_json::Value::Array(a) => {
                    for (i, x) in a.iter().enumerate() {
                        walk(x, &format!("{at}/{i}"), out);
                    }
                }
                _ => {}
            }
        }
        let (_, mut doc) = super::super::router().split_for_parts();
        super::super::complete_document(&mut doc);
        let mut patterns = Vec::new();
        walk(&serde_json::to_value(&doc).unwrap(), "", &mut patterns);
        let optional = optional_text();
        let mut text_rules = 0;
        for (at, p) in &patterns {
            // The list patterns of the query parameters carry the text rule inside a
            // comma-separated list; `list_patterns_…` covers those.
            if !p.contains("u061c") || p.contains(',') {
                continue;
            }
            text_rules += 1;
            assert!(
                p == REQUIRED_TEXT || *p == optional,
                "{at}: a text pattern that is not check_text's: {p}"
            );
        }
        assert!(text_rules > 30, "only {text_rules} text rules found");
        // Every date rule is check_date's, copied without a slip.
        let days = patterns
            .iter()
            .filter(|(_, p)| p.contains("(?:0[1-9]|1[0-2])-"))
            .inspect(|(at, p)| {
                assert_eq!(
                    p,
                    crate::domain::registry::CHECKED_DAY,
                    "{at}: a date pattern that is not check_date's"
                )
            })
            .count();
        assert!(days >= 20, "only {days} date rules found");
    }
}
