//! Names of administrative divisions: a built-in set, loadable by admins (audited), shown
//! on the portal instead of bare codes.

use crate::helpers::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn division_names_are_built_in_loadable_audited_and_shown_on_the_portal() {
    let app = spawn_app().await;
    // Public, built in: the seeds' prefecture and its counties.
    let r = app
        .send(Method::GET, "/api/v1/regions", None, None, &[])
        .await
        .expect(200);
    let regions = r.body["regions"].as_array().unwrap();
    assert!(
        regions.contains(&json!({"code": "150602", "name": "东胜区"})),
        "{}",
        r.text
    );
    assert!(regions.contains(&json!({"code": "1506", "name": "鄂尔多斯市"})));

    let before = app.audit_len().await;
    let put = |code: &str, token: String, body: serde_json::Value| {
        let path = format!("/api/v1/regions/{code}");
        let app = &app;
        async move {
            app.send(Method::PUT, &path, Some(&token), Some(&body), &[])
                .await
        }
    };
    // Only admins; bad codes and names are refused naming the field; nothing changes.
    put("150699", app.coordinator(MI), json!({"name": "新区"}))
        .await
        .expect(403);
    put("15069", app.admin(), json!({"name": "新区"}))
        .await
        .expect_problem_field(422, "code");
    put("150699", app.admin(), json!({"name": ""}))
        .await
        .expect_problem_field(422, "name");
    put("150699", app.admin(), json!({"name": "a\u{202E}b"}))
        .await
        .expect_problem_field(422, "name");
    assert_eq!(app.audit_len().await, before);

    // Loaded and renamed: each an audit entry; the stored name wins over the built-in one.
    put("150602", app.admin(), json!({"name": "东胜区（测试）"}))
        .await
        .expect(200);
    put("150699", app.admin(), json!({"name": "新区"}))
        .await
        .expect(200);
    assert_eq!(app.audit_len().await, before + 2);
    let log = app
        .get("/api/v1/audit-log?action=region.name", &app.auditor())
        .await
        .expect(200);
    assert_eq!(
        log.body["items"].as_array().unwrap().len(),
        2,
        "{}",
        log.text
    );
    let r = app
        .send(Method::GET, "/api/v1/regions", None, None, &[])
        .await
        .expect(200);
    let regions = r.body["regions"].as_array().unwrap();
    assert!(regions.contains(&json!({"code": "150602", "name": "东胜区（测试）"})));
    assert!(regions.contains(&json!({"code": "150699", "name": "新区"})));

    // The portal names the divisions of drawn institutions (prefecture + county).
    seed_003_county(&app).await;
    let (id, _) = drawn_seed_003(&app).await;
    app.post(
        &format!("/api/v1/tasks/{id}/publish"),
        &app.coordinator(MI),
        json!(null),
    )
    .await
    .expect(200);
    let page = app
        .send(Method::GET, &format!("/tasks/{id}"), None, None, &[])
        .await
        .expect(200);
    assert!(
        page.text.contains("鄂尔多斯市东胜区（测试）")
            || page.text.contains("鄂尔多斯市达拉特旗")
            || page.text.contains("鄂尔多斯市准格尔旗"),
        "{}",
        page.text
    );
    assert!(!page.text.contains("<code>150602</code></div>"));
    let index = app
        .send(Method::GET, "/", None, None, &[])
        .await
        .expect(200);
    assert!(
        index
            .text
            .contains("<option value=\"1506\">鄂尔多斯市</option>"),
        "{}",
        index.text
    );
}
