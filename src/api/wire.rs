//! Makes the OpenAPI document say what the wire does, for what every route shares: every
//! operation can answer 400 (an encoded NUL in the URL, a malformed path; for a JSON body
//! also malformed JSON or data after the value), and each one that takes a JSON body 415
//! (not `application/json`), all as problem documents. Applied to the whole
//! document once the routes are merged, so no handler has to repeat them.
//!
//! It also closes a gap of the generator: a stored record is its input (`#[serde(deny_unknown_fields)]`,
//! so `additionalProperties: false`) flattened with `id`, `version` and timestamps, which
//! utoipa writes as `allOf` of the closed input and the extra fields: a combination no
//! record satisfies. Such an `allOf` is merged into one object schema.

use std::collections::BTreeMap;
use utoipa::openapi::{
    ContentBuilder, OpenApi, Ref, RefOr, Schema,
    path::Operation,
    response::{Response, ResponseBuilder},
    schema::{AdditionalProperties, ArrayItems, Object},
};

fn problem(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build(),
    )
}

fn document_json_errors(op: &mut Operation) {
    // Every route refuses a malformed request line (an encoded NUL, a malformed path).
    op.responses
        .responses
        .entry("400".into())
        .or_insert_with(|| {
            problem("Malformed request: an encoded NUL in the URL, a malformed path or JSON body, or data after the JSON value")
        });
    let takes_json = match &op.request_body {
        Some(RefOr::T(body)) => body.content.keys().any(|k| k.contains("json")),
        _ => false,
    };
    if !takes_json {
        return;
    }
    op.responses
        .responses
        .entry("415".into())
        .or_insert_with(|| problem("The body is not `application/json`"));
}

/// Adds the shared responses to every operation of `doc`, and merges the `allOf`s of
/// closed inputs (see the module's note).
pub fn describe_shared_responses(doc: &mut OpenApi) {
    merge_closed_all_of(doc);
    for (path, item) in doc.paths.paths.iter_mut() {
        let api = path.starts_with("/api/") || path.starts_with("/public/");
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
            document_json_errors(op);
            if api {
                document_query_errors(op);
            }
        }
    }
}

/// An API route with query parameters reads them with `ApiQuery`, which answers a missing
/// required parameter or a value of the wrong type with a 422 naming it; the document says
/// so on every such route (an objection's status page lacked it: fuzzing found the 422).
fn document_query_errors(op: &mut Operation) {
    use utoipa::openapi::path::ParameterIn;
    let has_query = op
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query));
    if has_query {
        op.responses
            .responses
            .entry("422".into())
            .or_insert_with(|| {
                problem("A query parameter is missing or invalid; the problem names it")
            });
    }
}

const SCHEMAS: &str = "#/components/schemas/";

fn is_closed(o: &Object) -> bool {
    matches!(
        o.additional_properties.as_deref(),
        Some(AdditionalProperties::FreeForm(false))
    )
}

/// The component schemas that are plain objects, by name.
fn objects(doc: &OpenApi) -> BTreeMap<String, Object> {
    let mut objects = BTreeMap::new();
    if let Some(c) = &doc.components {
        for (name, schema) in &c.schemas {
            if let RefOr::T(Schema::Object(o)) = schema {
                objects.insert(name.clone(), o.clone());
            }
        }
    }
    objects
}

/// Replaces, everywhere in the component schemas, an `allOf` of objects one of which is
/// closed by one object with the properties and required fields of all its parts.
fn merge_closed_all_of(doc: &mut OpenApi) {
    let objects = objects(doc);
    if let Some(c) = &mut doc.components {
        for schema in c.schemas.values_mut() {
            merge_in(schema, &objects);
        }
    }
}

fn merge_in(schema: &mut RefOr<Schema>, objects: &BTreeMap<String, Object>) {
    let RefOr::T(s) = schema else { return };
    match s {
        Schema::AllOf(all) => {
            for part in &mut all.items {
                merge_in(part, objects);
            }
            let parts: Option<Vec<Object>> = all
                .items
                .iter()
                .map(|p| match p {
                    RefOr::Ref(r) => r
                        .ref_location
                        .strip_prefix(SCHEMAS)
                        .and_then(|n| objects.get(n))
                        .cloned(),
                    RefOr::T(Schema::Object(o)) => Some(o.clone()),
                    _ => None,
                })
                .collect();
            let Some(parts) = parts.filter(|ps| ps.iter().any(is_closed)) else {
                return;
            };
            let mut merged = Object::new();
            merged.schema_type = parts[0].schema_type.clone();
            merged.title = all.title.clone();
            merged.description = all.description.clone().or(parts[0].description.clone());
            for part in parts {
                for (k, v) in part.properties {
                    merged.properties.insert(k, v);
                }
                for r in part.required {
                    if !merged.required.contains(&r) {
                        merged.required.push(r);
                    }
                }
            }
            *s = Schema::Object(merged);
        }
        Schema::Object(o) => {
            for p in o.properties.values_mut() {
                merge_in(p, objects);
            }
        }
        Schema::Array(a) => {
            if let ArrayItems::RefOrSchema(item) = &mut a.items {
                merge_in(item, objects);
            }
        }
        Schema::OneOf(one) => {
            for p in &mut one.items {
                merge_in(p, objects);
            }
        }
        Schema::AnyOf(any) => {
            for p in &mut any.items {
                merge_in(p, objects);
            }
        }
        _ => {}
    }
}
