use crate::helpers::spawn_app;

/// `openapi.yaml` in the repository is exactly what the service serves. Regenerate it with
/// `cargo run -- openapi > openapi.yaml` after changing a route.
#[tokio::test]
async fn served_document_equals_the_file() {
    let app = spawn_app().await;
    let served = app
        .client
        .get(format!("{}/openapi.yaml", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert!(
        served.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/yaml")
    );
    let served = served.text().await.unwrap();
    let file = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml exists");
    assert!(
        served == file,
        "openapi.yaml differs from the served document: run `cargo run -- openapi > openapi.yaml`"
    );
    assert!(served.starts_with("openapi: 3.1"));
}

#[tokio::test]
async fn docs_page_and_health() {
    let app = spawn_app().await;
    let docs = app
        .client
        .get(format!("{}/docs/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
    let json = app
        .client
        .get(format!("{}/docs/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 200);
    for path in ["/healthz", "/readyz"] {
        let r = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(r.headers().contains_key("x-request-id"));
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/nothing", &app.admin()).await.expect(404);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    let r = app
        .send(
            reqwest::Method::DELETE,
            "/api/v1/institutions",
            Some(&app.admin()),
            None,
            &[],
        )
        .await
        .expect(405);
    assert_eq!(r.headers["content-type"], "application/problem+json");
}

/// utoipa names a schema after its Rust type and silently lets a later type of the same
/// name replace an earlier one in the document: two `PlanInput`s (the annual plan's and a
/// rectification's) once made the document describe the wrong body for one endpoint. Every
/// type deriving `ToSchema` must therefore have a document name of its own (`#[schema(as
/// = …)]` where two Rust names meet).
#[test]
fn every_schema_has_a_name_of_its_own() {
    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    rust_files(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        &mut files,
    );
    let mut seen: std::collections::BTreeMap<String, String> = Default::default();
    let mut clashes = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let (mut deriving, mut renamed) = (false, None::<String>);
        for line in text.lines().map(str::trim) {
            if line.starts_with("#[derive(") && line.contains("ToSchema") {
                deriving = true;
                renamed = None;
            } else if deriving && line.starts_with("#[schema(as = ") {
                renamed = line
                    .trim_start_matches("#[schema(as = ")
                    .split([')', ','])
                    .next()
                    .map(|s| s.rsplit("::").next().unwrap().trim().to_string());
            } else if deriving && !line.starts_with("#[") && !line.starts_with("///") {
                let name = line
                    .split_whitespace()
                    .skip_while(|w| !matches!(*w, "struct" | "enum"))
                    .nth(1)
                    .map(|w| w.trim_end_matches(['{', ';', '(', '<']).to_string());
                if let Some(name) = renamed.take().or(name) {
                    let at = file.display().to_string();
                    if let Some(earlier) = seen.insert(name.clone(), at.clone()) {
                        clashes.push(format!("{name}: {earlier} and {at}"));
                    }
                }
                deriving = false;
            }
        }
    }
    assert!(
        seen.len() > 100,
        "the scan found the schemas ({})",
        seen.len()
    );
    assert!(clashes.is_empty(), "schema names used twice: {clashes:#?}");
}
