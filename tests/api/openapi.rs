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
