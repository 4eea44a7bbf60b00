//! Bulk import and export of the registries.

use crate::helpers::*;
use serde_json::{Value, json};

const CSV: &str = "text/csv";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const INST: &str = "/api/v1/institutions/import";
const INSP: &str = "/api/v1/inspectors/import";

const ZH_HEADER: &str =
    "统一社会信用代码,机构名称,机构类型,医院等级,所有制,行政区划,地址,信用等级,状态,标签";
const EN_HEADER: &str =
    "credit_code,name,kind,level,ownership,region,address,risk_grade,status,tags";

fn gb18030(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::GB18030.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

/// A valid row in English codes for the `n`-th synthetic institution.
fn row(n: u32) -> String {
    let code = credit_code(&format!("9115060{n:010}"));
    format!("{code},机构{n},retail_pharmacy,none,private,150602,某某路{n}号,B,active,")
}

fn csv_of(header: &str, rows: &[String]) -> Vec<u8> {
    let mut s = format!("{header}\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s.into_bytes()
}

async fn count_institutions(app: &TestApp, query: &str) -> usize {
    let r = app
        .get(
            &format!("/api/v1/institutions?limit=500{query}"),
            &app.admin(),
        )
        .await
        .expect(200);
    r.body["items"].as_array().unwrap().len()
}

fn rows_of(r: &Reply) -> Vec<(u64, String, String)> {
    r.body["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows in {}", r.text))
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_string(),
                e["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn gb18030_with_chinese_headers_and_a_wrong_check_character_is_rejected_naming_row_and_column()
 {
    let app = spawn_app().await;
    let text = format!(
        "{ZH_HEADER}\n\
         91350100M000100Y43,准格尔旗人民医院,定点医疗机构,二级,公立,150622,薛家湾镇,B,正常,医共体\n\
         91350100M000100Y44,鄂托克旗人民医院,定点医疗机构,二级,公立,150624,乌兰镇,B,正常,\n"
    );
    let r = app
        .upload(INST, &app.admin(), "text/csv; charset=gbk", gb18030(&text))
        .await
        .expect(422);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    assert_eq!(r.body["type"], "urn:suiji:problem:validation");
    assert_eq!(r.body["row_error_count"], 1);
    assert_eq!(r.body["rows"][0]["row"], 3, "{}", r.text);
    assert_eq!(r.body["rows"][0]["column"], "统一社会信用代码");
    assert_eq!(r.body["rows"][0]["value"], "91350100M000100Y44");
    let reason = r.body["rows"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("check character"), "{reason}");
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("row 3") && detail.contains("统一社会信用代码"),
        "{detail}"
    );
    // Nothing was written.
    assert_eq!(count_institutions(&app, "").await, 0);
    assert_eq!(app.audit_len().await, 0);

    // The same file with the check character fixed goes in, Chinese values and all.
    let fixed = text.replace("91350100M000100Y44", &credit_code("91350100M000200Y4"));
    let r = app
        .upload(INST, &app.admin(), CSV, gb18030(&fixed))
        .await
        .expect(200);
    assert_eq!(r.body["encoding"], "GB18030");
    assert_eq!(r.body["inserted"], 2);
    let list = app
        .get(
            "/api/v1/institutions?tags=%E5%8C%BB%E5%85%B1%E4%BD%93",
            &app.admin(),
        )
        .await
        .expect(200);
    let item = &list.body["items"][0];
    assert_eq!(item["name"], "准格尔旗人民医院");
    assert_eq!(item["kind"], "designated_hospital");
    assert_eq!(item["level"], "secondary");
    assert_eq!(item["ownership"], "public");
}

#[tokio::test]
async fn utf8_with_bom_and_english_headers_then_reimport_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin();
    let mut file = b"\xEF\xBB\xBF".to_vec();
    file.extend(csv_of(EN_HEADER, &[row(1), row(2), row(3)]));
    let r = app
        .upload(INST, &admin, CSV, file.clone())
        .await
        .expect(200);
    assert_eq!(r.body["encoding"], "UTF-8");
    assert_eq!(
        (&r.body["rows"], &r.body["inserted"], &r.body["updated"]),
        (&json!(3), &json!(3), &json!(0))
    );
    let digest = hex_sha256(&file);
    assert_eq!(r.body["sha256"], digest.as_str());
    // One audit entry for the whole import, carrying the file's SHA-256.
    assert_eq!(app.audit_len().await, 1);
    let log = app
        .get("/api/v1/audit-log?action=institution.import", &admin)
        .await
        .expect(200);
    assert_eq!(log.body["items"][0]["payload_sha256"], digest.as_str());
    assert_eq!(log.body["items"][0]["actor_sub"], "admin");
    // Each record has its version 1 in the history.
    let list = app.get("/api/v1/institutions", &admin).await.expect(200);
    let id = list.body["items"][0]["id"].as_str().unwrap().to_string();
    let h = app
        .get(&format!("/api/v1/institutions/{id}/history"), &admin)
        .await
        .expect(200);
    assert_eq!(h.body["items"].as_array().unwrap().len(), 1);

    // Again in insert mode: every row is already registered.
    let r = app
        .upload(INST, &admin, CSV, file.clone())
        .await
        .expect(422);
    let rows = rows_of(&r);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].0, 2);
    assert_eq!(rows[0].1, "credit_code");
    assert!(rows[0].2.contains("already registered"), "{}", rows[0].2);
    // Again in upsert mode: all unchanged, nothing written.
    let r = app
        .upload(&format!("{INST}?mode=upsert"), &admin, CSV, file)
        .await
        .expect(200);
    assert_eq!(
        (&r.body["unchanged"], &r.body["updated"]),
        (&json!(3), &json!(0))
    );
    assert_eq!(r.body["audit_seq"], Value::Null);
    assert_eq!(app.audit_len().await, 1);
    let h = app
        .get(&format!("/api/v1/institutions/{id}/history"), &admin)
        .await
        .expect(200);
    assert_eq!(h.body["items"].as_array().unwrap().len(), 1);
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[tokio::test]
async fn upsert_turns_changed_rows_into_new_versions() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.upload(INST, &admin, CSV, csv_of(EN_HEADER, &[row(1), row(2)]))
        .await
        .expect(200);
    let changed = row(2).replace(",B,active,", ",D,active,连锁");
    let r = app
        .upload(
            &format!("{INST}?mode=upsert"),
            &admin,
            CSV,
            csv_of(EN_HEADER, &[row(1), changed, row(3)]),
        )
        .await
        .expect(200);
    assert_eq!(
        (
            &r.body["inserted"],
            &r.body["updated"],
            &r.body["unchanged"]
        ),
        (&json!(1), &json!(1), &json!(1))
    );
    assert_eq!(app.audit_len().await, 2);
    let code = credit_code(&format!("9115060{:010}", 2));
    let r = app
        .get(&format!("/api/v1/institutions?credit_code={code}"), &admin)
        .await
        .expect(200);
    let item = &r.body["items"][0];
    assert_eq!(item["version"], 2);
    assert_eq!(item["risk_grade"], "D");
    let id = item["id"].as_str().unwrap();
    let h = app
        .get(&format!("/api/v1/institutions/{id}/history"), &admin)
        .await
        .expect(200);
    assert_eq!(h.body["items"][1]["data"]["risk_grade"], "D");
    // The tag mirror follows the new version.
    assert_eq!(
        count_institutions(&app, "&tags=%E8%BF%9E%E9%94%81").await,
        1
    );
    // The single-record API continues from the imported version.
    let mut body = institution_body(2, "retail_pharmacy", "150602");
    body["name"] = json!("改名");
    app.put(&format!("/api/v1/institutions/{id}"), &admin, 2, body)
        .await
        .expect(200);
}

#[tokio::test]
async fn every_kind_of_bad_row_is_reported() {
    let app = spawn_app().await;
    let admin = app.admin();
    let bad_region = row(3).replace(",150602,", ",990602,");
    let bad_kind = row(4).replace("retail_pharmacy", "castle");
    let empty_name = row(5).replace("机构5", "");
    let extra_cell = format!("{},surplus", row(6));
    let bad_tags = row(7).replace(",active,", ",active,a;a");
    let bad_status = row(8).replace(",active,", ",gone,");
    let rows = vec![
        row(1),
        row(2).replace(
            &credit_code(&format!("9115060{:010}", 2)),
            "91150600000000002Z",
        ),
        bad_region,
        bad_kind,
        empty_name,
        extra_cell,
        bad_tags,
        bad_status,
        row(1),
        String::new(),
        row(9).replace(",B,", ",E,"),
    ];
    let r = app
        .upload(INST, &admin, CSV, csv_of(EN_HEADER, &rows))
        .await
        .expect(422);
    let got = rows_of(&r);
    let expect = [
        (3, "credit_code", "not allowed"),
        (4, "region", "province"),
        (5, "kind", "castle"),
        (6, "name", "empty"),
        (7, "column 11", "outside the columns"),
        (8, "tags", "duplicate tag"),
        (9, "status", "gone"),
        (10, "credit_code", "duplicate within the file: row 2"),
        // Row 11 is blank and skipped; row 12 has an unknown risk grade.
        (12, "risk_grade", "'E'"),
    ];
    assert_eq!(got.len(), expect.len(), "{}", r.text);
    for ((row, column, reason), (erow, ecol, ereason)) in got.iter().zip(expect) {
        assert_eq!((*row, column.as_str()), (erow, ecol), "{}", r.text);
        assert!(reason.contains(ereason), "row {row}: {reason}");
    }
    assert_eq!(r.body["row_error_count"], 9);
    assert_eq!(count_institutions(&app, "").await, 0);

    // Header problems are row 1 errors: an unknown column, a missing required one.
    let r = app
        .upload(
            INST,
            &admin,
            CSV,
            b"credit_code,name,colour,kind,ownership,region\n".to_vec(),
        )
        .await
        .expect(422);
    let got = rows_of(&r);
    assert_eq!(got[0].0, 1);
    assert_eq!(got[0].1, "colour");
    assert!(got[1].1.starts_with("risk_grade"), "{}", r.text);
    assert!(got[1].2.contains("missing"));
    // An empty file, an unreadable workbook, a wrong media type.
    app.upload(INST, &admin, CSV, Vec::new()).await.expect(422);
    let r = app
        .upload(INST, &admin, XLSX, b"PK\x03\x04 not really".to_vec())
        .await
        .expect(422);
    assert!(r.text.contains("XLSX"), "{}", r.text);
    app.upload(INST, &admin, "application/json", b"{}".to_vec())
        .await
        .expect(415);
    app.upload(&format!("{INST}?mode=merge"), &admin, CSV, Vec::new())
        .await
        .expect_problem_field(422, "mode");
    assert_eq!(app.audit_len().await, 0);
}

#[tokio::test]
async fn one_bad_row_at_the_end_of_a_large_file_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin();
    // More rows than one write batch, so earlier batches were already written in the
    // transaction when the bad row is found.
    let mut rows: Vec<String> = (0..1203).map(row).collect();
    rows.push(row(5000).replace(",150602,", ",150,"));
    let r = app
        .upload(INST, &admin, CSV, csv_of(EN_HEADER, &rows))
        .await
        .expect(422);
    assert_eq!(
        rows_of(&r),
        vec![(
            1205,
            "region".to_string(),
            "must be a 6-digit administrative division code".to_string()
        )]
    );
    assert_eq!(count_institutions(&app, "").await, 0);
    assert_eq!(app.audit_len().await, 0);
    // The dry run of the good part reports without writing.
    rows.pop();
    let r = app
        .upload(
            &format!("{INST}?dry_run=true"),
            &admin,
            CSV,
            csv_of(EN_HEADER, &rows),
        )
        .await
        .expect(200);
    assert_eq!(
        (&r.body["inserted"], &r.body["dry_run"]),
        (&json!(1203), &json!(true))
    );
    assert_eq!(count_institutions(&app, "").await, 0);
    assert_eq!(app.audit_len().await, 0);
    let r = app
        .upload(INST, &admin, CSV, csv_of(EN_HEADER, &rows))
        .await
        .expect(200);
    assert_eq!(r.body["inserted"], 1203);
    assert_eq!(app.audit_len().await, 1);
}

fn xlsx_of(rows: &[Vec<&str>]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, cells) in rows.iter().enumerate() {
        for (c, v) in cells.iter().enumerate() {
            // Region codes typed into Excel become numbers.
            if let Ok(n) = v.parse::<f64>()
                && v.len() == 6
            {
                sheet.write_number(r as u32, c as u16, n).unwrap();
            } else {
                sheet.write_string(r as u32, c as u16, *v).unwrap();
            }
        }
    }
    book.add_worksheet().write_string(0, 0, "ignored").unwrap();
    book.save_to_buffer().unwrap()
}

#[tokio::test]
async fn xlsx_first_sheet_is_imported() {
    let app = spawn_app().await;
    let admin = app.admin();
    let header: Vec<&str> = ZH_HEADER.split(',').collect();
    let good = credit_code("91350100M000100Y4");
    let file = xlsx_of(&[
        header.clone(),
        vec![
            &good,
            "准格尔旗人民医院",
            "定点医疗机构",
            "二级",
            "公立",
            "150622",
            "",
            "B",
            "",
            "",
        ],
        vec![
            "914403001922038216",
            "某药店",
            "药店",
            "",
            "民营",
            "150602",
            "",
            "c",
            "",
            "连锁、医保",
        ],
    ]);
    let r = app.upload(INST, &admin, XLSX, file).await.expect(200);
    assert_eq!(
        (&r.body["format"], &r.body["inserted"]),
        (&json!("xlsx"), &json!(2))
    );
    let r = app
        .get(
            "/api/v1/institutions?credit_code=914403001922038216",
            &admin,
        )
        .await
        .expect(200);
    assert_eq!(r.body["items"][0]["region"], "150602");
    assert_eq!(r.body["items"][0]["risk_grade"], "C");
    assert_eq!(r.body["items"][0]["tags"], json!(["连锁", "医保"]));
    // A bad cell in a workbook is named by its spreadsheet row too; no content type
    // needed, the workbook is recognized.
    let file = xlsx_of(&[
        header,
        vec![
            "91350100M000100Y4Z",
            "x",
            "定点医疗机构",
            "二级",
            "公立",
            "150622",
            "",
            "B",
            "",
            "",
        ],
    ]);
    let r = app
        .upload(INST, &admin, "application/octet-stream", file)
        .await
        .expect(422);
    assert_eq!(rows_of(&r)[0].0, 2);
    assert_eq!(rows_of(&r)[0].1, "统一社会信用代码");
}

#[tokio::test]
async fn uploads_over_the_limit_get_413() {
    let app = spawn_app_with(|c| c.import_limit = 64 * 1024).await;
    let admin = app.admin();
    let rows: Vec<String> = (0..2000).map(row).collect();
    let file = csv_of(EN_HEADER, &rows);
    assert!(file.len() > 64 * 1024);
    let r = app.upload(INST, &admin, CSV, file).await.expect(413);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    assert_eq!(r.body["type"], "urn:suiji:problem:payload-too-large");
    // Without a Content-Length (chunked), the limit holds while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..100).map(|_| Ok(vec![b'x'; 1024])).collect();
    let resp = app
        .client
        .post(format!("{}{INST}", app.base))
        .bearer_auth(&admin)
        .header("content-type", CSV)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    // The default limit of 100 MiB is far above the 2 MiB of JSON bodies.
    let app = spawn_app().await;
    let rows: Vec<String> = (0..40_000).map(row).collect();
    let file = csv_of(EN_HEADER, &rows);
    assert!(file.len() > 2 * 1024 * 1024);
    let r = app
        .upload(&format!("{INST}?dry_run=true"), &app.admin(), CSV, file)
        .await
        .expect(200);
    assert_eq!(r.body["inserted"], 40_000);
}

#[tokio::test]
async fn exports_round_trip_through_import() {
    let app = spawn_app().await;
    let admin = app.admin();
    let mut rows: Vec<String> = (0..1500).map(row).collect();
    rows.push(format!(
        "{},\"名称, 带逗号\",designated_hospital,tertiary,public,150624,\"他说\"\"好\"\"\",A,suspended,医共体;三甲",
        credit_code("91150600000009999")
    ));
    app.upload(INST, &admin, CSV, csv_of(EN_HEADER, &rows))
        .await
        .expect(200);
    let (headers, csv) = app
        .download("/api/v1/institutions/export?format=csv", &app.auditor())
        .await;
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(csv.starts_with(b"\xEF\xBB\xBFcredit_code,name,"));
    assert_eq!(csv.iter().filter(|&&b| b == b'\n').count(), 1502);
    let r = app
        .upload(&format!("{INST}?mode=upsert"), &admin, CSV, csv)
        .await
        .expect(200);
    assert_eq!(
        (&r.body["unchanged"], &r.body["rows"]),
        (&json!(1501), &json!(1501))
    );
    let (headers, xlsx) = app
        .download("/api/v1/institutions/export?format=xlsx", &admin)
        .await;
    assert_eq!(headers["content-type"], XLSX);
    let r = app
        .upload(&format!("{INST}?mode=upsert"), &admin, XLSX, xlsx)
        .await
        .expect(200);
    assert_eq!(r.body["unchanged"], 1501);
    assert_eq!(app.audit_len().await, 1);
    // The listing filters apply.
    let (_, csv) = app
        .download(
            "/api/v1/institutions/export?kind=designated_hospital&status=suspended",
            &admin,
        )
        .await;
    let text = String::from_utf8(csv).unwrap();
    assert!(text.contains("\"名称, 带逗号\""), "{text}");
    assert!(text.contains("\"他说\"\"好\"\"\""), "{text}");
    assert_eq!(text.lines().count(), 2);
    app.get("/api/v1/institutions/export?kind=castle", &admin)
        .await
        .expect_problem_field(422, "kind");
    app.get("/api/v1/institutions/export?format=pdf", &admin)
        .await
        .expect_problem_field(422, "format");
}

#[tokio::test]
async fn inspector_imports_follow_department_rights() {
    let app = spawn_app().await;
    let file = "所属部门,姓名,执法证号,行政区划,状态,专业领域\n\
                医疗保障局,李四,YB-001,150602,在岗,医保基金;药品\n\
                health,王五,WJ-001,150624,,\n"
        .as_bytes()
        .to_vec();
    // An auditor writes nothing; a coordinator only its own department's rows.
    app.upload(INSP, &app.auditor(), CSV, file.clone())
        .await
        .expect(403);
    let r = app
        .upload(INSP, &app.coordinator("health"), CSV, file.clone())
        .await
        .expect(403);
    assert!(
        r.body["detail"].as_str().unwrap().contains("row 2"),
        "{}",
        r.text
    );
    assert_eq!(app.audit_len().await, 0);
    let r = app
        .upload(
            INSP,
            &app.coordinator("health"),
            CSV,
            gb18030("department,name,certificate_no,region\nhealth,赵六,WJ-002,150622\n"),
        )
        .await
        .expect(200);
    assert_eq!(r.body["inserted"], 1);
    let r = app
        .upload(INSP, &app.admin(), CSV, file.clone())
        .await
        .expect(200);
    assert_eq!(r.body["inserted"], 2);
    // Conflicts of interest are kept by an upsert that does not carry them.
    let inst = app
        .institution(institution_body(1, "retail_pharmacy", "150602"))
        .await;
    let r = app
        .get("/api/v1/inspectors?certificate_no=YB-001", &app.admin())
        .await
        .expect(200);
    let id = r.body["items"][0]["id"].as_str().unwrap().to_string();
    let mut body = inspector_body("medical_insurance", "YB-001", "150602");
    body["name"] = json!("李四");
    body["expertise"] = json!(["医保基金", "药品"]);
    body["conflicts"] = json!([{"institution": inst, "reason": "亲属关系"}]);
    app.put(&format!("/api/v1/inspectors/{id}"), &app.admin(), 1, body)
        .await
        .expect(200);
    let changed = String::from_utf8(file).unwrap().replace("在岗", "休假");
    let r = app
        .upload(
            &format!("{INSP}?mode=upsert"),
            &app.admin(),
            CSV,
            changed.into_bytes(),
        )
        .await
        .expect(200);
    assert_eq!(
        (&r.body["updated"], &r.body["unchanged"]),
        (&json!(1), &json!(1))
    );
    let r = app
        .get(&format!("/api/v1/inspectors/{id}"), &app.admin())
        .await
        .expect(200);
    assert_eq!(r.body["status"], "on_leave");
    assert_eq!(r.body["version"], 3);
    assert_eq!(r.body["conflicts"][0]["institution"], inst.as_str());
    // Unknown departments are row errors; exports carry the same columns.
    let r = app
        .upload(
            INSP,
            &app.admin(),
            CSV,
            b"department,name,certificate_no,region\ntax,x,SW-1,150602\n".to_vec(),
        )
        .await
        .expect(422);
    assert_eq!(rows_of(&r)[0].1, "department");
    let (_, csv) = app
        .download(
            "/api/v1/inspectors/export?department=medical_insurance",
            &app.admin(),
        )
        .await;
    let text = String::from_utf8(csv).unwrap();
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        vec![
            "\u{feff}department,name,certificate_no,region,status,expertise",
            "medical_insurance,李四,YB-001,150602,on_leave,医保基金;药品"
        ]
    );
}
