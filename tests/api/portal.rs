//! The public portal (`GET /`, `GET /tasks/{id}`): published tasks and their results
//! appear, unpublished ones never do, everything is escaped; and the same in a real
//! browser (headless Chromium, when installed).

use crate::helpers::*;
use crate::tasks::{
    HEALTH, MI, MR, commit_all, create_task, reveal_all, seed_003_county, seed_003_task,
};
use reqwest::Method;
use serde_json::{Value, json};

const UNPUBLISHED_TITLE: &str = "尚未公布的内部抽查任务ZQX";
const FINDINGS: &str = "串换药品、超量开药，已责令整改";

/// Creates, commits, seals, reveals and draws a seed 003 task with another title.
async fn drawn_task(app: &TestApp, title: &str) -> (String, Value) {
    let mut body = seed_003_task();
    body["title"] = json!(title);
    let id = create_task(app, body).await;
    commit_all(app, &id, &[MI, HEALTH, MR]).await;
    app.post(
        &format!("/api/v1/tasks/{id}/seal"),
        &app.coordinator(MI),
        json!(null),
    )
    .await
    .expect(200);
    reveal_all(app, &id, &[MI, HEALTH, MR], true).await;
    let r = app
        .post(
            &format!("/api/v1/tasks/{id}/draw"),
            &app.coordinator(MI),
            json!(null),
        )
        .await
        .expect(200);
    (id, r.body)
}

fn institution_of(task: &Value, i: usize) -> String {
    task["selections"][i]["institution"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Publishes the drawn list, records a result for the first drawn institution and
/// publishes it. Returns that institution's id.
async fn publish_with_one_result(app: &TestApp, id: &str, task: &Value) -> String {
    app.post(
        &format!("/api/v1/tasks/{id}/publish"),
        &app.coordinator(MI),
        json!(null),
    )
    .await
    .expect(200);
    let inst = institution_of(task, 0);
    let r = app
        .send(
            Method::PUT,
            &format!("/api/v1/tasks/{id}/results/{inst}"),
            Some(&app.coordinator(MI)),
            Some(&json!({"category": "corrected", "findings": FINDINGS,
                          "inspection_date": "2023-08-15",
                          "amounts": {"fund_recovered_fen": 123456, "penalty_fen": 0, "violations": 2}})),
            &[],
        )
        .await;
    r.expect(201);
    app.send(
        Method::POST,
        &format!("/api/v1/tasks/{id}/results/publish"),
        Some(&app.coordinator(MI)),
        None,
        &[],
    )
    .await
    .expect(200);
    inst
}

async fn institution_name(app: &TestApp, id: &str) -> String {
    app.get(&format!("/api/v1/institutions/{id}"), &app.auditor())
        .await
        .expect(200)
        .body["name"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Decodes the character references askama writes (`&#60;`, `&#x3c;`, `&lt;`, …).
fn unescape(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let decoded = rest.find(';').filter(|&e| e <= 10).and_then(|end| {
            let c = match &rest[1..end] {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                e if e.starts_with("#x") || e.starts_with("#X") => u32::from_str_radix(&e[2..], 16)
                    .ok()
                    .and_then(char::from_u32),
                e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
                _ => None,
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// GET without a token.
async fn page(app: &TestApp, path: &str) -> Reply {
    app.send(Method::GET, path, None, None, &[]).await
}

/// A published task with one published result, and a drawn task that is not published.
async fn scenario(app: &TestApp) -> (String, String, String) {
    seed_003_county(app).await;
    let (published, task) = drawn_task(app, "2023年定点医药机构跨部门双随机联合抽查").await;
    let inst = publish_with_one_result(app, &published, &task).await;
    let (unpublished, _) = drawn_task(app, UNPUBLISHED_TITLE).await;
    (published, inst, unpublished)
}

#[tokio::test]
async fn published_tasks_and_results_appear_and_unpublished_ones_do_not() {
    let app = spawn_app().await;
    let (id, inst, hidden) = scenario(&app).await;
    let inst_name = institution_name(&app, &inst).await;

    // The list.
    let r = page(&app, "/").await.expect(200);
    assert!(
        r.header("content-type").starts_with("text/html"),
        "{}",
        r.header("content-type")
    );
    assert!(r.text.contains("2023年定点医药机构跨部门双随机联合抽查"));
    assert!(r.text.contains(&format!("href=\"/tasks/{id}\"")));
    assert!(
        r.text.contains("医疗保障局"),
        "department names from the registry"
    );
    assert!(!r.text.contains(UNPUBLISHED_TITLE));
    assert!(!r.text.contains(&hidden));
    assert!(!r.text.contains("<script"), "no JavaScript on the portal");

    // The task page.
    let r = page(&app, &format!("/tasks/{id}")).await.expect(200);
    assert!(r.header("content-type").starts_with("text/html"));
    let public = page(&app, &format!("/public/v1/tasks/{id}"))
        .await
        .expect(200);
    for needle in [
        "2023年定点医药机构跨部门双随机联合抽查",
        "2023 年第 2 轮",
        inst_name.as_str(),
        "发现问题已责令改正",
        "Problem found, corrected on order",
        FINDINGS,
        "1,234.56",
        "2023-08-15",
        "组长",
        "2023-08-01",
        "如何验证本次抽取",
        "suiji verify bundle.json",
        &format!("/public/v1/tasks/{id}/bundle"),
        public.body["pool_hash"].as_str().unwrap(),
        public.body["seed"].as_str().unwrap(),
        public.body["result_hash"].as_str().unwrap(),
        "beacon:drand-quicknet",
        crate::tasks::BEACON,
        "尚未公布",
    ] {
        assert!(r.text.contains(needle), "task page lacks {needle}");
    }
    // Every drawn institution, every team member's certificate number.
    for s in public.body["selections"].as_array().unwrap() {
        assert!(
            r.text
                .contains(s["institution"]["credit_code"].as_str().unwrap())
        );
        for t in s["team"].as_array().unwrap() {
            for i in t["inspectors"].as_array().unwrap() {
                assert!(r.text.contains(i["certificate_no"].as_str().unwrap()));
            }
        }
    }
    assert!(!r.text.contains(UNPUBLISHED_TITLE));
    assert!(!r.text.contains("<script"));

    // Cached like the public API: strong ETag, Cache-Control, 304.
    let etag = r.header("etag").to_string();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "{etag}");
    assert!(r.header("cache-control").contains("max-age"));
    let again = app
        .send(
            Method::GET,
            &format!("/tasks/{id}"),
            None,
            None,
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(again.status, 304);

    // The unpublished task, and an unknown one: the same 404 page, without their data.
    for missing in [
        hidden.as_str(),
        "0190a0b0-0000-7000-8000-000000000000",
        "nope",
    ] {
        let r = page(&app, &format!("/tasks/{missing}")).await.expect(404);
        assert!(r.header("content-type").starts_with("text/html"));
        assert!(r.text.contains("未找到"));
        assert!(!r.text.contains(UNPUBLISHED_TITLE));
        assert!(!r.text.contains("suiji verify"));
    }
}

#[tokio::test]
async fn the_list_is_searchable_and_explains_bad_searches() {
    let app = spawn_app().await;
    let (id, _, _) = scenario(&app).await;
    let link = format!("href=\"/tasks/{id}\"");
    for (query, found) in [
        ("/?year=2023", true),
        ("/?year=2022", false),
        ("/?year=&department=&region_prefix=", true),
        ("/?department=health", true),
        ("/?region_prefix=1506", true),
        ("/?region_prefix=3301", false),
        (
            "/?year=2023&department=market_regulation&region_prefix=15",
            true,
        ),
    ] {
        let r = page(&app, query).await.expect(200);
        assert_eq!(r.text.contains(&link), found, "{query}");
        assert!(!r.text.contains(UNPUBLISHED_TITLE), "{query}");
    }
    // The form keeps what was asked.
    let r = page(&app, "/?year=2023&department=health")
        .await
        .expect(200);
    assert!(r.text.contains("value=\"2023\""));
    assert!(r.text.contains("value=\"health\" selected"));
    // Bad input: an HTML page that says what is wrong, never a problem document.
    for query in [
        "/?year=abc",
        // A year is four digits, as the form and the document say.
        "/?year=0",
        "/?year=12345",
        "/?year=-202",
        "/?department=Nope!",
        "/?region_prefix=123",
        "/?cursor=garbage",
    ] {
        let r = page(&app, query).await.expect(422);
        assert!(r.header("content-type").starts_with("text/html"), "{query}");
        assert!(r.text.contains("查询条件有误"), "{query}");
    }
}

#[tokio::test]
async fn pages_link_to_the_next_one() {
    let app = spawn_app().await;
    seed_003_county(&app).await;
    // 21 published tasks: one more than a page.
    let mut ids = Vec::new();
    for n in 0..21 {
        let (id, _) = drawn_task(&app, &format!("分页任务{n:02}")).await;
        app.post(
            &format!("/api/v1/tasks/{id}/publish"),
            &app.coordinator(MI),
            json!(null),
        )
        .await
        .expect(200);
        ids.push(id);
    }
    let first = page(&app, "/?year=2023").await.expect(200);
    let start = first.text.find("href=\"/?").expect("a next-page link");
    let href = &first.text[start + 6..];
    let href = unescape(&href[..href.find('"').unwrap()]);
    assert!(
        href.contains("year=2023") && href.contains("cursor="),
        "{href}"
    );
    let second = page(&app, &href).await.expect(200);
    let on = |text: &str| {
        ids.iter()
            .filter(|id| text.contains(&format!("/tasks/{id}\"")))
            .count()
    };
    assert_eq!(on(&first.text), 20);
    assert_eq!(on(&second.text), 1);
    assert!(second.text.contains("第一页"));
}

#[tokio::test]
async fn hostile_text_is_escaped() {
    let app = spawn_app().await;
    seed_003_county(&app).await;
    let (id, task) = drawn_task(&app, "<b>任务</b> & \"引号\"").await;
    // Rename the first drawn institution to something hostile.
    let inst = institution_of(&task, 0);
    let current = app
        .get(&format!("/api/v1/institutions/{inst}"), &app.admin())
        .await
        .expect(200);
    let mut body = current.body.clone();
    let version = body["version"].as_i64().unwrap();
    for k in ["id", "version", "created_at", "updated_at"] {
        body.as_object_mut().unwrap().remove(k);
    }
    let hostile = "<script>alert('x')</script>医院";
    body["name"] = json!(hostile);
    app.put(
        &format!("/api/v1/institutions/{inst}"),
        &app.admin(),
        version,
        body,
    )
    .await
    .expect(200);
    publish_with_one_result(&app, &id, &task).await;

    for path in ["/".to_string(), format!("/tasks/{id}")] {
        let r = page(&app, &path).await.expect(200);
        assert!(!r.text.contains("<script"), "{path} carries a raw <script>");
        assert!(!r.text.contains("<b>任务</b>"), "{path}");
    }
    let r = page(&app, &format!("/tasks/{id}")).await;
    let shown = unescape(&r.text);
    assert!(shown.contains(hostile), "the name is shown, escaped");
    assert!(shown.contains("<b>任务</b> & \"引号\""));
    // A hostile search term is escaped back into the form too.
    let r = page(&app, "/?region_prefix=%22%3E%3Cscript%3E").await;
    assert!(!r.text.contains("<script"));
}

/// Runs headless Chromium on a URL and returns the DOM after rendering, or None when
/// Chromium is not installed (unless `SUIJI_REQUIRE_CHROMIUM=1`, which makes that fail).
fn chromium_dump_dom(url: &str) -> Option<String> {
    chromium_dump_dom_with(url, &[])
}

/// As [`chromium_dump_dom`], with extra Chromium flags (e.g. a virtual-time budget so that
/// a page's scripts finish before the DOM is taken).
fn chromium_dump_dom_with(url: &str, extra: &[&str]) -> Option<String> {
    crate::chromium::available("the headless browser check")
        .then(|| crate::chromium::dump_dom(url, extra, std::time::Duration::from_secs(30)))
}

#[tokio::test]
async fn a_headless_browser_sees_the_published_task_and_not_the_unpublished_one() {
    let app = spawn_app().await;
    let (id, inst, hidden) = scenario(&app).await;
    let inst_name = institution_name(&app, &inst).await;
    // Chromium blocks its thread; the service keeps running on this test's runtime.
    let dump = |url: String| async move {
        tokio::task::spawn_blocking(move || chromium_dump_dom(&url))
            .await
            .unwrap()
    };
    let Some(list) = dump(format!("{}/", app.base)).await else {
        return;
    };
    assert!(list.contains("已公布的抽查任务"), "{list}");
    assert!(list.contains("2023年定点医药机构跨部门双随机联合抽查"));
    assert!(list.contains(&format!("/tasks/{id}")));
    assert!(!list.contains(UNPUBLISHED_TITLE));

    let task = dump(format!("{}/tasks/{id}", app.base)).await.unwrap();
    for needle in [
        inst_name.as_str(),
        "发现问题已责令改正",
        FINDINGS,
        "1,234.56",
        "suiji verify bundle.json",
    ] {
        assert!(task.contains(needle), "rendered task page lacks {needle}");
    }
    assert!(!task.contains(UNPUBLISHED_TITLE));

    // The task page's "verify in the browser" button checks this task's own bundle in the
    // browser and says it is consistent.
    let verify_path = format!("/verify?bundle=/public/v1/tasks/{id}/bundle");
    assert!(
        task.contains(&verify_path.replace('&', "&amp;")) || task.contains(&verify_path),
        "the task page links to the browser verifier"
    );
    let url = format!("{}{verify_path}", app.base);
    let verdict = tokio::task::spawn_blocking(move || {
        chromium_dump_dom_with(&url, &["--virtual-time-budget=60000"])
    })
    .await
    .unwrap()
    .unwrap();
    let at = verdict
        .find("id=\"verdict\"")
        .expect("the verifier shows a verdict");
    let tag_start = verdict[..at].rfind('<').unwrap();
    let tag = &verdict[tag_start..at + verdict[at..].find('>').unwrap()];
    assert!(
        tag.contains("data-status=\"ok\""),
        "the published task's bundle verifies in the browser: {tag}"
    );

    let missing = dump(format!("{}/tasks/{hidden}", app.base)).await.unwrap();
    assert!(missing.contains("未找到"));
    assert!(!missing.contains(UNPUBLISHED_TITLE));
}

// ---- the portal for its readers (issue 16, "the first hour") ----

#[tokio::test]
async fn the_portal_explains_itself_to_its_readers() {
    let app = spawn_app_with(|c| {
        c.authority = "鄂尔多斯市医疗保障局ZQA".into();
        c.contact = "0477-1234567ZQC".into();
    })
    .await;
    let (published, _, _) = scenario(&app).await;
    // The list marks a task whose results are overdue, as the task page does.
    let list = page(&app, "/").await.expect(200);
    assert!(
        list.text.contains("结果逾期未公布 4 家"),
        "late mark on the list"
    );
    // The issuing authority and contact on every page.
    assert!(list.text.contains("鄂尔多斯市医疗保障局ZQA"));
    assert!(list.text.contains("0477-1234567ZQC"));
    let task = page(&app, &format!("/tasks/{published}")).await.expect(200);
    let text = unescape(&task.text);
    assert!(text.contains("鄂尔多斯市医疗保障局ZQA"));
    // Verification: hex-decode, then SHA-256; the specification is one click away.
    assert!(text.contains("十六进制解码为字节，再计算 SHA-256"));
    assert!(text.contains("Hex-decode each revealed value to bytes"));
    assert!(text.contains("href=\"/draw-spec\""));
    // Strata by what they draw, not by their English ids.
    assert!(text.contains("分层 定点医疗机构"), "stratum title");
    assert!(text.contains("定点零售药店（地区 1506）"), "stratum title");
    let spec = page(&app, "/draw-spec").await.expect(200);
    assert!(spec.header("content-type").starts_with("text/html"));
    assert!(spec.text.contains("suiji-draw/1"));
    assert!(spec.text.contains("鄂尔多斯市医疗保障局ZQA"));
    let etag = spec.header("etag").to_string();
    let again = app
        .send(
            Method::GET,
            "/draw-spec",
            None,
            None,
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(again.status, 304);
    // No inline script or event handler anywhere (a CSP without inline script holds).
    for body in [&list.text, &task.text, &spec.text] {
        let lower = body.to_ascii_lowercase();
        assert!(!lower.contains("<script"), "inline script");
        assert!(!lower.contains(" onclick=") && !lower.contains(" onload="));
    }
}

/// Late marks, the task page's deadlines and the overdue report's default day all follow
/// the server's clock (simulated in demos and tests), not the wall clock: before the
/// results deadline nothing is late, after it the same pages say so.
#[tokio::test]
async fn late_marks_follow_the_servers_clock_not_the_wall_clock() {
    let (app, clock) = spawn_app_at("2023-09-15T10:00:00Z").await;
    let (published, _, _) = scenario(&app).await;
    let list = page(&app, "/").await.expect(200);
    assert!(
        !list.text.contains("结果逾期未公布"),
        "not late on 2023-09-15"
    );
    let report = app
        .get("/api/v1/reports/overdue", &app.auditor())
        .await
        .expect(200)
        .body;
    assert_eq!(report["as_of"], "2023-09-15", "{report}");
    assert!(
        !report.to_string().contains(&published),
        "nothing of the task is overdue yet: {report}"
    );

    clock.set(instant("2024-06-03T10:00:00Z"));
    let list = page(&app, "/").await.expect(200);
    assert!(
        list.text.contains("结果逾期未公布 4 家"),
        "late on 2024-06-03"
    );
    let task = page(&app, &format!("/tasks/{published}")).await.expect(200);
    assert!(task.text.contains("逾期"), "the task page says so too");
    let report = app
        .get("/api/v1/reports/overdue", &app.auditor())
        .await
        .expect(200)
        .body;
    assert_eq!(report["as_of"], "2024-06-03");
    assert!(report.to_string().contains(&published), "{report}");
}
