//! suiji-draw/2 pieces wired into the service: `suiji audit verify --anchor SEQ:HASH` (a
//! chain anchor saved earlier holds against the log, a rewritten entry contradicts it) and
//! the browser verifier page served by the application router.

use crate::helpers::*;

fn audit_verify(database_url: &str, anchors: &[String]) -> (i32, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_suiji"));
    cmd.args(["audit", "verify", "--database-url", database_url]);
    for a in anchors {
        cmd.arg("--anchor").arg(a);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn a_saved_anchor_holds_and_a_rewritten_history_contradicts_it() {
    let app = spawn_app().await;
    app.institution(institution_body(701, "retail_pharmacy", "150602"))
        .await;
    app.institution(institution_body(702, "retail_pharmacy", "150602"))
        .await;
    let log = app
        .get("/api/v1/audit-log?limit=10", &app.auditor())
        .await
        .expect(200);
    let first = &log.body["items"][0];
    let seq = first["seq"].as_i64().unwrap();
    let hash = first["entry_hash"].as_str().unwrap().to_owned();
    if !app.database_url.starts_with("sqlite") {
        return; // the CLI check is the same on PostgreSQL; one run is enough
    }

    let (code, out) = audit_verify(&app.database_url, &[format!("{seq}:{hash}")]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("anchor {seq}:{hash} holds")), "{out}");

    // An anchor the log contradicts: another hash for that entry, or an entry that is gone.
    let (code, out) = audit_verify(&app.database_url, &[format!("{seq}:{}", "0".repeat(64))]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("history was rewritten"), "{out}");
    let (code, out) = audit_verify(&app.database_url, &[format!("999999:{hash}")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("does not exist"), "{out}");
    let (code, out) = audit_verify(&app.database_url, &["not-an-anchor".into()]);
    assert_eq!(code, 2, "{out}");
}

#[tokio::test]
async fn the_service_serves_the_browser_verifier_offline() {
    let app = spawn_app().await;
    let page = app
        .client
        .get(format!("{}/verify", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains("在浏览器中核验"), "{html}");
    for asset in ["verify.js", "noble.js", "verify.css"] {
        let r = app
            .client
            .get(format!("{}/verify/{asset}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{asset}");
    }
}
