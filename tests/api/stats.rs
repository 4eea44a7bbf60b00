//! Issue 15 parts 7–8: the public statistics (JSON and the portal's SVG charts, equal to
//! the summary's figures on published data), the public institution search, the
//! blacklist and the credit publicity export.

use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

const SEALED_AT: &str = "2023-09-15T10:00:00Z";
const DEADLINE: &str = "2023-09-15T10:30:00Z";

async fn public(app: &TestApp, path: &str) -> Reply {
    app.send(Method::GET, path, None, None, &[]).await
}

async fn put_result(app: &TestApp, id: &str, inst: &str, body: &Value) {
    app.send(
        Method::PUT,
        &format!("/api/v1/tasks/{id}/results/{inst}"),
        Some(&app.coordinator(MI)),
        Some(body),
        &[],
    )
    .await
    .expect(201);
}

async fn publish_results(app: &TestApp, id: &str) {
    app.post(
        &format!("/api/v1/tasks/{id}/results/publish"),
        &app.coordinator(MI),
        json!(null),
    )
    .await
    .expect(200);
}

fn no_problem() -> Value {
    json!({"category": "no_problem", "inspection_date": "2023-08-15"})
}

/// The selections' institution ids of a drawn task's answer.
fn drawn(task: &Value) -> Vec<String> {
    task["selections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["institution"].as_str().unwrap().to_string())
        .collect()
}

/// A targeted task (suiji-draw/2) naming `named`, drawn and its list published.
async fn targeted(app: &TestApp, clock: &suiji::domain::Clock, named: &[String]) -> String {
    let mut t = seed_003_task_v2(DEADLINE);
    let o = t.as_object_mut().unwrap();
    o.remove("strata");
    o.insert("title".into(), json!("2023年医保基金定向检查"));
    o.insert("mode".into(), json!("targeted"));
    o.insert(
        "targets".into(),
        Value::Array(
            named
                .iter()
                .map(|i| json!({"institution": i, "reason_kind": "clue", "reason": "举报线索"}))
                .collect(),
        ),
    );
    let mi = app.coordinator(MI);
    let id = app.post("/api/v1/tasks", &mi, t).await.expect(201).body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = |step: &str| format!("/api/v1/tasks/{id}/{step}");
    commit_all(app, &id, &[MI, HEALTH, MR]).await;
    app.post(&path("seal"), &mi, json!(null)).await.expect(200);
    reveal_all(app, &id, &[MI, HEALTH, MR], false).await;
    clock.set(instant("2023-09-15T11:05:00Z"));
    app.post(
        &path("reveals"),
        &mi,
        json!({"source": "beacon:drand-quicknet", "value": ROUND_657413.1}),
    )
    .await
    .expect(201);
    app.post(&path("draw"), &mi, json!(null)).await.expect(200);
    app.post(&path("publish"), &mi, json!(null))
        .await
        .expect(200);
    id
}

/// The seed 003 county with two published tasks, on a clock at 2023-09-15: a random one
/// (5 drawn: one problem with 800 yuan recovered, one penalised 500 yuan and referred to
/// the police) and a targeted one (3 named: one problem with 1,100 yuan recovered, 100 of
/// it liquidated damages). Results are stamped published on the service's clock (the
/// simulated 2023-09-15), before their deadline of 2023-09-28.
pub struct Published {
    pub app: TestApp,
    pub clock: suiji::domain::Clock,
    pub random_task: String,
    pub random: Vec<String>,
    pub targeted_task: String,
    pub named: Vec<String>,
}

async fn two_published_tasks() -> Published {
    let (app, clock) = spawn_app_at(SEALED_AT).await;
    let s = Scenario::seed003(&app).await.published().await;
    let random = s.institutions();
    put_result(
        &app,
        &s.id,
        &random[0],
        &json!({"category": "corrected", "inspection_date": "2023-08-15", "findings": "挂床住院2例",
           "amounts": {"fund_recovered_fen": 80_000, "penalty_fen": 0, "violations": 2},
           "handling": ["rectification", "recovery"]}),
    )
    .await;
    put_result(
        &app,
        &s.id,
        &random[1],
        &json!({"category": "follow_up_pending", "inspection_date": "2023-08-16",
           "follow_up": ["referred_to_police"], "amounts": {"penalty_fen": 50_000},
           "handling": ["administrative_penalty", "referred_police"]}),
    )
    .await;
    for inst in &random[2..] {
        put_result(&app, &s.id, inst, &no_problem()).await;
    }
    publish_results(&app, &s.id).await;
    let named: Vec<String> = s
        .county
        .pharmacies
        .iter()
        .filter(|p| !random.contains(p))
        .take(3)
        .cloned()
        .collect();
    let t = targeted(&app, &clock, &named).await;
    put_result(
        &app,
        &t,
        &named[0],
        &json!({"category": "corrected", "inspection_date": "2023-08-20",
           "amounts": {"fund_recovered_fen": 110_000, "fund_principal_fen": 100_000,
                       "liquidated_damages_fen": 10_000, "penalty_fen": 0, "violations": 5},
           "handling": ["recovery", "liquidated_damages"]}),
    )
    .await;
    for inst in &named[1..] {
        put_result(&app, &t, inst, &no_problem()).await;
    }
    publish_results(&app, &t).await;
    Published {
        random_task: s.id.clone(),
        random,
        targeted_task: t,
        named,
        app,
        clock,
    }
}

fn summary_path(prefix: &str) -> String {
    format!("/api/v1/reports/summary?from=2023-01-01&to=2023-12-31&region_prefix={prefix}")
}

/// The public figures the summary also has, as (public key, summary column).
const SHARED: [(&str, &str); 5] = [
    ("inspections", "c2_inspected"),
    ("problems_found", "c3_violating"),
    ("funds_recovered_fen", "c15_recovered_fen"),
    ("fund_principal_fen", "c16_principal_fen"),
    ("penalty_fen", "c18_penalty_fen"),
];

#[tokio::test]
async fn public_statistics_count_published_data_and_equal_the_summary() {
    let Published { app, clock, .. } = two_published_tasks().await;
    let r = public(&app, "/public/v1/statistics?year=2023&region_prefix=1506")
        .await
        .expect(200);
    let s = r.body.clone();
    let t = &s["total"];
    assert_eq!(
        (
            t["inspections"].as_i64(),
            t["random"].as_i64(),
            t["targeted"].as_i64(),
            t["recheck"].as_i64()
        ),
        (Some(8), Some(5), Some(3), Some(0)),
        "{s}"
    );
    assert_eq!(t["problems_found"], 3, "{s}");
    assert_eq!(t["funds_recovered_fen"], 190_000, "{s}");
    assert_eq!(t["fund_principal_fen"], 180_000, "{s}");
    assert_eq!(t["penalty_fen"], 50_000, "{s}");
    // Both tasks' results were published on 2023-09-15 by the service's clock, before
    // their deadline of 2023-09-28: on time.
    assert_eq!(
        (&t["tasks_on_time"], &t["tasks_late"], &t["tasks_pending"]),
        (&json!(2), &json!(0), &json!(0)),
        "{s}"
    );
    assert_eq!(t["on_time_share"], "1.0000");
    // The same figures as the authenticated summary, in total and for each county.
    let admin = app.admin();
    let sum = app
        .get(&summary_path("1506"), &admin)
        .await
        .expect(200)
        .body;
    for (k, c) in SHARED {
        assert_eq!(t[k], sum["total"]["figures"][c], "{k} vs {c}: {s} {sum}");
    }
    let regions = s["regions"].as_array().unwrap();
    assert!(!regions.is_empty(), "{s}");
    let mut inspections = 0;
    for line in regions {
        let region = line["region"].as_str().unwrap();
        assert_eq!(region.len(), 6, "one level below 1506: {s}");
        let sum = app
            .get(&summary_path(region), &admin)
            .await
            .expect(200)
            .body;
        for (k, c) in SHARED {
            assert_eq!(
                line["figures"][k], sum["total"]["figures"][c],
                "{region} {k}: {s} {sum}"
            );
        }
        inspections += line["figures"]["inspections"].as_i64().unwrap();
    }
    assert_eq!(inspections, 8);
    // Other years have nothing.
    let y = public(&app, "/public/v1/statistics?year=2024&region_prefix=1506")
        .await
        .expect(200)
        .body;
    assert_eq!(y["total"]["inspections"], 0, "{y}");

    // Public like the other /public/v1 routes: ETag, 304, CORS.
    let etag = r.header("etag").to_string();
    assert!(!etag.is_empty());
    let again = app
        .send(
            Method::GET,
            "/public/v1/statistics?year=2023&region_prefix=1506",
            None,
            None,
            &[
                ("if-none-match", etag.as_str()),
                ("origin", "https://example.org"),
            ],
        )
        .await;
    assert_eq!(again.status.as_u16(), 304);
    assert_eq!(again.header("access-control-allow-origin"), "*");

    // A third task, drawn and listed, with a result recorded but not published: the
    // summary counts it, the public statistics do not; pending until its deadline, late
    // after it.
    let (c, task) = drawn_seed_003(&app).await;
    app.post(
        &format!("/api/v1/tasks/{c}/publish"),
        &app.coordinator(MI),
        json!(null),
    )
    .await
    .expect(200);
    put_result(&app, &c, &drawn(&task)[0], &no_problem()).await;
    let sum = app
        .get(&summary_path("1506"), &admin)
        .await
        .expect(200)
        .body;
    assert_eq!(sum["total"]["figures"]["c2_inspected"], 9, "{sum}");
    let s = public(&app, "/public/v1/statistics?year=2023&region_prefix=1506")
        .await
        .expect(200)
        .body;
    assert_eq!(s["total"]["inspections"], 8, "unpublished counted: {s}");
    assert_eq!(s["total"]["tasks_pending"], 1, "{s}");
    clock.set(instant("2023-10-20T02:00:00Z"));
    let s = public(&app, "/public/v1/statistics?year=2023&region_prefix=1506")
        .await
        .expect(200)
        .body;
    assert_eq!(
        (
            &s["total"]["tasks_on_time"],
            &s["total"]["tasks_late"],
            &s["total"]["tasks_pending"]
        ),
        (&json!(2), &json!(1), &json!(0)),
        "{s}"
    );
    assert_eq!(s["as_of"], "2023-10-20");

    // Bad input: a problem naming the field.
    public(&app, "/public/v1/statistics?year=1999")
        .await
        .expect_problem_field(422, "year");
    public(&app, "/public/v1/statistics?region_prefix=150")
        .await
        .expect_problem_field(422, "region_prefix");
    let bad = public(&app, "/statistics?year=20x3").await;
    assert_eq!(bad.status.as_u16(), 422, "{}", bad.text);
    assert!(bad.text.contains("year"), "{}", bad.text);
}

/// The figure `key` of the table line with id `row` in the page's DOM.
fn cell(dom: &str, row: &str, key: &str) -> i64 {
    let at = dom
        .find(&format!("id=\"{row}\""))
        .unwrap_or_else(|| panic!("no {row} in the page"));
    let rest = &dom[at..];
    let k = rest
        .find(&format!("data-key=\"{key}\""))
        .unwrap_or_else(|| panic!("no {key} in {row}"));
    let rest = &rest[k..];
    let text = if let Some(f) = rest.find("data-fen=\"").filter(|f| *f < 40) {
        let v = &rest[f + 10..];
        &v[..v.find('"').unwrap()]
    } else {
        let v = &rest[rest.find('>').unwrap() + 1..];
        &v[..v.find('<').unwrap()]
    };
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{key}: {text}"))
}

#[tokio::test]
async fn the_statistics_page_draws_svg_charts_with_the_summary_numbers() {
    let Published { app, .. } = two_published_tasks().await;
    let path = "/statistics?year=2023&region_prefix=1506";
    let page = public(&app, path).await.expect(200);
    assert!(page.header("content-type").starts_with("text/html"));
    // The portal's CSP as everywhere: no script at all on this page.
    assert!(
        page.header("content-security-policy")
            .contains("script-src 'self'")
    );
    assert!(!page.text.contains("<script"), "no JavaScript");
    let json = public(&app, "/public/v1/statistics?year=2023&region_prefix=1506")
        .await
        .expect(200)
        .body;
    let lines = json["regions"].as_array().unwrap().len();
    let sum = app
        .get(&summary_path("1506"), &app.admin())
        .await
        .expect(200)
        .body;
    let check = |dom: &str| {
        assert_eq!(dom.matches("<svg").count(), 4, "four charts");
        assert_eq!(
            dom.matches("<title id=\"chart-").count(),
            4,
            "every chart has a title"
        );
        assert_eq!(dom.matches("<desc id=\"chart-").count(), 4);
        // Three series on the first chart, one on the others, per division.
        assert_eq!(dom.matches("class=\"bar\"").count(), lines * 6, "bars");
        for (k, c) in SHARED {
            assert_eq!(
                cell(dom, "statistics-total", k),
                sum["total"]["figures"][c].as_i64().unwrap(),
                "{k}"
            );
        }
        assert_eq!(cell(dom, "statistics-total", "random"), 5);
        assert_eq!(cell(dom, "statistics-total", "targeted"), 3);
    };
    check(&page.text);
    let url = format!("{}{path}", app.base);
    if !crate::chromium::available("the statistics page in a browser") {
        return;
    }
    // Chromium blocks its thread; the service keeps running on this test's runtime.
    let u = url.clone();
    let dom = tokio::task::spawn_blocking(move || {
        crate::chromium::dump_dom(&u, &[], std::time::Duration::from_secs(60))
    })
    .await
    .unwrap();
    check(&dom);
    // A screenshot, kept where SUIJI_SCREENSHOT_DIR says (else thrown away).
    let dir = tempfile::tempdir().unwrap();
    let out = std::env::var("SUIJI_SCREENSHOT_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| dir.path().to_path_buf())
        .join("statistics.png");
    let profile = dir.path().join("profile");
    let shot = out.clone();
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new(crate::chromium::CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--hide-scrollbars",
                "--window-size=1280,2400",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("--screenshot={}", shot.display()))
            .arg(&url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("chromium runs")
    })
    .await
    .unwrap();
    assert!(status.success());
    let png = std::fs::read(&out).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    assert!(png.len() > 10_000, "an empty screenshot");
}

async fn institution(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/v1/institutions/{id}"), &app.admin())
        .await
        .expect(200)
        .body
}

#[tokio::test]
async fn the_public_finds_drawn_institutions_by_name_or_credit_code() {
    let p = two_published_tasks().await;
    let app = &p.app;
    let drawn_one = institution(app, &p.random[0]).await;
    let code = drawn_one["credit_code"].as_str().unwrap();
    let name = drawn_one["name"].as_str().unwrap();
    // By credit code: exactly that institution, with its history.
    let r = public(app, &format!("/public/v1/institutions?q={code}"))
        .await
        .expect(200)
        .body;
    let items = r["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{r}");
    assert_eq!(items[0]["id"], p.random[0].as_str());
    assert_eq!(items[0]["inspections"], 1);
    let history = items[0]["history"].as_str().unwrap();
    public(app, history).await.expect(200);
    // By name (substring): every hit was drawn by a published task; the county's other
    // institutions are never found.
    let drawn: Vec<&String> = p.random.iter().chain(&p.named).collect();
    let r = public(
        app,
        "/public/v1/institutions?q=%E6%9C%BA%E6%9E%84&limit=100",
    )
    .await
    .expect(200)
    .body;
    let ids: Vec<&str> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    let mut want: Vec<&str> = drawn.iter().map(|s| s.as_str()).collect();
    want.sort();
    want.dedup();
    let mut got = ids.clone();
    got.sort();
    assert_eq!(got, want, "{r}");
    // Paginated by name: pages of 3 give every hit once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => "/public/v1/institutions?q=%E6%9C%BA%E6%9E%84&limit=3".to_string(),
            Some(c) => format!("/public/v1/institutions?q=%E6%9C%BA%E6%9E%84&limit=3&cursor={c}"),
        };
        let page = public(app, &path).await.expect(200).body;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ids, "pages in the same order as one page");
    // The portal: the form, the hit, its history page.
    let page = public(app, &format!("/institutions?q={code}"))
        .await
        .expect(200);
    assert!(page.text.contains(name), "{}", page.text);
    assert!(
        page.text
            .contains(&format!("/institutions/{}", p.random[0]))
    );
    let h = public(app, &format!("/institutions/{}", p.random[0]))
        .await
        .expect(200);
    assert!(
        h.text.contains(code) && h.text.contains("限期整改"),
        "{}",
        h.text
    );
    assert!(h.text.contains(&format!("/tasks/{}", p.random_task)));
    public(app, "/institutions").await.expect(200);
    // An institution no published task drew has no public page.
    let others = app
        .get("/api/v1/institutions?limit=200", &app.admin())
        .await
        .expect(200)
        .body;
    let undrawn = others["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .find(|i| !drawn.contains(&i))
        .unwrap();
    assert_eq!(
        public(app, &format!("/institutions/{undrawn}"))
            .await
            .status,
        404
    );
    // Bad input, nothing found, capped pages.
    public(app, "/public/v1/institutions?q=")
        .await
        .expect_problem_field(422, "q");
    public(
        app,
        &format!("/public/v1/institutions?q={}", "a".repeat(65)),
    )
    .await
    .expect_problem_field(422, "q");
    public(app, "/public/v1/institutions?q=x&limit=101")
        .await
        .expect_problem_field(422, "limit");
    public(app, "/public/v1/institutions?q=x&cursor=nope")
        .await
        .expect_problem_field(422, "cursor");
    let none = public(app, "/public/v1/institutions?q=%25")
        .await
        .expect(200)
        .body;
    assert_eq!(
        none["items"],
        json!([]),
        "LIKE wildcards are literal: {none}"
    );
}

fn listing(task: &str, inst: &str) -> Value {
    json!({"task_id": task, "institution_id": inst, "reason": "行政处罚：虚构医药服务骗取医保基金",
           "decision_number": "X医保罚〔2023〕7号", "listed_on": "2023-09-15", "until": "2024-09-14"})
}

#[tokio::test]
async fn a_blacklist_listing_rests_on_a_published_result_and_delisting_keeps_it() {
    let p = two_published_tasks().await;
    let app = &p.app;
    let mi = app.coordinator(MI);
    let before = app.audit_len().await;
    // No ground: the first result was only rectified and recovered.
    app.post(
        "/api/v1/blacklist",
        &mi,
        listing(&p.random_task, &p.random[0]),
    )
    .await
    .expect_problem_field(422, "institution_id");
    // A result not published (no such result in the targeted task).
    app.post(
        "/api/v1/blacklist",
        &mi,
        listing(&p.targeted_task, &p.random[1]),
    )
    .await
    .expect_problem_field(422, "institution_id");
    let mut b = listing(&p.random_task, &p.random[1]);
    b["until"] = json!("2023-09-15");
    app.post("/api/v1/blacklist", &mi, b)
        .await
        .expect_problem_field(422, "until");
    let mut b = listing(&p.random_task, &p.random[1]);
    b["listed_on"] = json!("2023-08-15");
    app.post("/api/v1/blacklist", &mi, b)
        .await
        .expect_problem_field(422, "listed_on");
    let mut b = listing(&p.random_task, &p.random[1]);
    b["reason"] = json!(" ");
    app.post("/api/v1/blacklist", &mi, b)
        .await
        .expect_problem_field(422, "reason");
    app.post(
        "/api/v1/blacklist",
        &app.auditor(),
        listing(&p.random_task, &p.random[1]),
    )
    .await
    .expect(403);
    app.post(
        "/api/v1/blacklist",
        &app.coordinator(HEALTH),
        listing(&p.random_task, &p.random[1]),
    )
    .await
    .expect(403);
    assert_eq!(app.audit_len().await, before, "refusals write nothing");

    // The penalised institution: listed.
    let e = app
        .post(
            "/api/v1/blacklist",
            &mi,
            listing(&p.random_task, &p.random[1]),
        )
        .await
        .expect(201)
        .body;
    let id = e["id"].as_str().unwrap().to_string();
    assert_eq!(e["state"], "listed");
    assert_eq!(e["on_list"], true);
    assert_eq!(e["grounds"], json!(["行政处罚", "移送公安机关"]), "{e}");
    assert_eq!(app.audit_len().await, before + 1);
    app.post(
        "/api/v1/blacklist",
        &mi,
        listing(&p.random_task, &p.random[1]),
    )
    .await
    .expect(409);
    let card = institution(app, &p.random[1]).await;
    let list = public(app, "/public/v1/blacklist").await.expect(200).body;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["items"][0]["credit_code"], card["credit_code"]);
    assert_eq!(list["items"][0]["until"], "2024-09-14");
    let page = public(app, "/blacklist").await.expect(200).text;
    assert!(page.contains(card["name"].as_str().unwrap()), "{page}");
    assert!(page.contains("X医保罚〔2023〕7号"));

    // Delisted early: a second version, the first kept.
    app.post(
        &format!("/api/v1/blacklist/{id}/delisting"),
        &mi,
        json!({"reason": "", "delisted_on": "2023-09-15"}),
    )
    .await
    .expect_problem_field(422, "reason");
    app.post(
        &format!("/api/v1/blacklist/{id}/delisting"),
        &mi,
        json!({"reason": "行政复议撤销处罚决定", "delisted_on": "2023-09-14"}),
    )
    .await
    .expect_problem_field(422, "delisted_on");
    let d = app
        .post(
            &format!("/api/v1/blacklist/{id}/delisting"),
            &mi,
            json!({"reason": "行政复议撤销处罚决定", "delisted_on": "2023-09-15"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(d["state"], "delisted");
    assert_eq!(d["on_list"], false);
    assert_eq!(d["version"], 2);
    let versions = d["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{d}");
    assert_eq!(versions[0]["data"]["state"], "listed");
    assert_eq!(
        versions[1]["data"]["delisting"]["reason"],
        "行政复议撤销处罚决定"
    );
    assert_eq!(app.audit_len().await, before + 2);
    app.post(
        &format!("/api/v1/blacklist/{id}/delisting"),
        &mi,
        json!({"reason": "again", "delisted_on": "2023-09-15"}),
    )
    .await
    .expect(409);
    let list = public(app, "/public/v1/blacklist").await.expect(200).body;
    assert_eq!(list["items"], json!([]), "{list}");
    let all = app
        .get("/api/v1/blacklist", &app.auditor())
        .await
        .expect(200)
        .body;
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
    // Once delisted, the institution may be listed again by a new decision.
    app.post(
        "/api/v1/blacklist",
        &mi,
        listing(&p.random_task, &p.random[1]),
    )
    .await
    .expect(201);
    // A listing ends on its end date.
    p.clock.set(instant("2024-09-15T02:00:00Z"));
    let list = public(app, "/public/v1/blacklist").await.expect(200).body;
    assert_eq!(list["items"], json!([]), "ended: {list}");
}

#[tokio::test]
async fn the_credit_publicity_export_is_keyed_by_credit_code_and_logged() {
    use sha2::Digest;
    let p = two_published_tasks().await;
    let app = &p.app;
    let mr = app.coordinator(MR);
    let before = app.audit_len().await;
    app.get(
        "/api/v1/exports/credit-publicity?since=2023-01-01",
        &app.coordinator(HEALTH),
    )
    .await
    .expect(403);
    app.get("/api/v1/exports/credit-publicity?since=2023-13-01", &mr)
        .await
        .expect_problem_field(422, "since");
    app.get(
        "/api/v1/exports/credit-publicity?since=2023-01-01&region_prefix=150",
        &mr,
    )
    .await
    .expect_problem_field(422, "region_prefix");
    assert_eq!(app.audit_len().await, before);

    let (headers, body) = app
        .download("/api/v1/exports/credit-publicity?since=2023-01-01", &mr)
        .await;
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let sha = hex::encode(sha2::Sha256::digest(&body));
    assert_eq!(headers["x-content-sha256"].to_str().unwrap(), sha);
    let text = String::from_utf8(body).unwrap();
    let text = text.trim_start_matches('\u{feff}');
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rows.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header[0], "统一社会信用代码");
    assert_eq!(header[11], "处罚决定书文号");
    let records: Vec<csv::StringRecord> = rows.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), 8, "every published result of the two tasks");
    let penalised = institution(app, &p.random[1]).await;
    let row = records
        .iter()
        .find(|r| r[0] == *penalised["credit_code"].as_str().unwrap())
        .expect("the penalised institution by its credit code");
    assert_eq!(&row[1], penalised["name"].as_str().unwrap());
    assert_eq!(&row[3], "双随机抽查");
    assert_eq!(&row[6], "发现问题待后续处理");
    assert!(row[8].contains("行政处罚"), "{row:?}");
    assert_eq!(&row[9], "500.00");
    assert!(
        row[2].contains("会同"),
        "a joint inspection names its departments: {row:?}"
    );
    let targeted = records.iter().filter(|r| &r[3] == "定向检查").count();
    assert_eq!(targeted, 3);
    // Nothing published since 2100-01-01: an empty file, still logged.
    let (h2, b2) = app
        .download(
            "/api/v1/exports/credit-publicity?since=2100-01-01&format=xlsx",
            &mr,
        )
        .await;
    assert!(
        h2["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    assert!(b2.starts_with(b"PK"));
    // The delivery log: both exports, newest first, with rows and hashes; audited.
    let log = app
        .get(
            "/api/v1/exports/credit-publicity/deliveries",
            &app.auditor(),
        )
        .await
        .expect(200)
        .body;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{log}");
    assert_eq!(items[1]["row_count"], 8);
    assert_eq!(items[1]["sha256"], sha.as_str());
    assert_eq!(items[1]["since"], "2023-01-01");
    assert_eq!(items[0]["row_count"], 0);
    assert_eq!(items[0]["format"], "xlsx");
    assert!(
        items[0]["exported_by"]
            .as_str()
            .unwrap()
            .starts_with("coordinator:"),
        "{log}"
    );
    assert_eq!(app.audit_len().await, before + 2);
    app.get(
        "/api/v1/exports/credit-publicity/deliveries",
        &app.coordinator(HEALTH),
    )
    .await
    .expect(403);
}

/// A search cursor is checked even without a term (fuzzing found the portal page taking
/// any cursor when `q` was empty), and an objection's status page names a missing token.
#[tokio::test]
async fn search_cursors_and_objection_tokens_are_checked() {
    let app = spawn_app().await;
    for path in [
        "/institutions?cursor=not-a-cursor",
        "/institutions?q=&cursor=not-a-cursor",
        "/institutions?q=%E5%8C%BB&cursor=not-a-cursor",
        "/public/v1/institutions?q=%E5%8C%BB&cursor=not-a-cursor",
    ] {
        let r = public(&app, path).await;
        assert_eq!(r.status.as_u16(), 422, "{path}");
    }
    public(&app, "/institutions?q=").await.expect(200);
    let r = public(
        &app,
        "/public/v1/objections/01a20ace-6052-76a3-99ee-cf6d20d45c7a",
    )
    .await;
    assert_eq!(r.status.as_u16(), 422);
}
