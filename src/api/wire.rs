//! Makes the OpenAPI document say what the wire does, for what every route shares: every
//! operation can answer 400 (an encoded NUL in the URL, a malformed path; for a JSON body
//! also malformed JSON or data after the value), and each one that takes a JSON body 415
//! (not `application/json`), all as problem documents. Applied to the whole
//! document once the routes are merged, so no handler has to repeat them.

use utoipa::openapi::{
    ContentBuilder, OpenApi, Ref, RefOr,
    path::Operation,
    response::{Response, ResponseBuilder},
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

/// Adds the shared responses to every operation of `doc`.
pub fn describe_shared_responses(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
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
        }
    }
}
