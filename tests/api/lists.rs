//! Record lists (issue 14): upload all or nothing, metadata, salt for auditors, deletion.

use crate::helpers::*;
use reqwest::Method;
use serde_json::Value;
use sha2::{Digest, Sha256};

const CSV: &str = "text/csv";
pub const PATIENTS: &str = "/api/v1/lists?name=%E9%97%A8%E8%AF%8A%E6%82%A3%E8%80%85&id_column=patient_id&columns=category:text,institution:text,disease:text,cost_fen:integer,visit:date";

pub fn patients_csv(n: usize) -> Vec<u8> {
    let cats = ["门慢", "门特", "国谈药", "双通道"];
    let mut s = String::from("patient_id,category,institution,disease,cost_fen,visit,remark\n");
    for i in 0..n {
        s.push_str(&format!(
            "P{i:06},{},I{:03},D{:02},{},2025-0{}-1{},x\n",
            cats[i % 4],
            i % 7,
            i % 5,
            1000 + i * 37 % 5000,
            1 + i % 9,
            i % 10
        ));
    }
    s.into_bytes()
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

async fn count_lists(app: &TestApp) -> usize {
    let r = app.get("/api/v1/lists", &app.auditor()).await.expect(200);
    r.body["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_list_is_uploaded_with_its_canonical_hash_and_audited() {
    let app = spawn_app().await;
    let before = app.audit_len().await;
    let r = app
        .upload(PATIENTS, &app.admin(), CSV, patients_csv(3))
        .await
        .expect(201);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.header("location"), format!("/api/v1/lists/{id}"));
    assert_eq!(r.body["rows"], 3);
    assert_eq!(r.body["name"], "门诊患者");
    assert_eq!(r.body["id_column"], "patient_id");
    assert_eq!(r.body["columns"][3]["type"], "integer");
    assert_eq!(r.body["ignored_columns"], serde_json::json!(["remark"]));
    assert_eq!(r.body["format"], "csv");
    assert_eq!(
        r.body["file_sha256"],
        hex::encode(Sha256::digest(patients_csv(3)))
    );
    // The canonical content, written out by hand (docs/draw-spec.md B.12).
    let canonical = concat!(
        r#"{"columns":[{"name":"category","type":"text"},{"name":"institution","type":"text"},{"name":"disease","type":"text"},{"name":"cost_fen","type":"integer"},{"name":"visit","type":"date"}],"id_column":"patient_id"}"#,
        "\n",
        r#"["P000000","门慢","I000","D00",1000,"2025-01-10"]"#,
        "\n",
        r#"["P000001","门特","I001","D01",1037,"2025-02-11"]"#,
        "\n",
        r#"["P000002","国谈药","I002","D02",1074,"2025-03-12"]"#,
        "\n"
    );
    assert_eq!(r.body["sha256"], hex::encode(Sha256::digest(canonical)));
    assert_eq!(app.audit_len().await, before + 1);

    let got = app
        .get(
            &format!("/api/v1/lists/{id}"),
            &app.coordinator("medical_insurance"),
        )
        .await
        .expect(200);
    assert_eq!(got.body["sha256"], r.body["sha256"]);
    assert_eq!(got.body["used_by"], serde_json::json!([]));
    assert!(got.body.get("ignored_columns").is_none());
    assert!(!got.text.contains("P000001"), "metadata only: {}", got.text);
    assert_eq!(count_lists(&app).await, 1);

    // The same records in GB18030, with other spacing: the same canonical hash.
    let text = String::from_utf8(patients_csv(3))
        .unwrap()
        .replace(',', " , ");
    let (gb, _, _) = encoding_rs::GB18030.encode(&text);
    let r2 = app
        .upload(PATIENTS, &app.admin(), CSV, gb.into_owned())
        .await
        .expect(201);
    assert_eq!(r2.body["encoding"], "GB18030");
    assert_eq!(r2.body["sha256"], r.body["sha256"]);
    assert_ne!(r2.body["file_sha256"], r.body["file_sha256"]);
}

#[tokio::test]
async fn lists_are_never_public_and_the_salt_is_for_auditors() {
    let app = spawn_app().await;
    let r = app
        .upload(PATIENTS, &app.admin(), CSV, patients_csv(2))
        .await
        .expect(201);
    let id = r.body["id"].as_str().unwrap();
    for path in [
        "/api/v1/lists".to_string(),
        format!("/api/v1/lists/{id}"),
        format!("/api/v1/lists/{id}/salt"),
    ] {
        let resp = app.send(Method::GET, &path, None, None, &[]).await;
        assert_eq!(resp.status, 401, "{path}: {}", resp.text);
    }
    app.get(
        &format!("/api/v1/lists/{id}/salt"),
        &app.coordinator("medical_insurance"),
    )
    .await
    .expect(403);
    let s = app
        .get(&format!("/api/v1/lists/{id}/salt"), &app.auditor())
        .await
        .expect(200);
    let salt = hex::decode(s.body["salt"].as_str().unwrap()).unwrap();
    assert_eq!(salt.len(), 32);
    assert_eq!(
        s.body["salt_commitment"],
        hex::encode(Sha256::digest(&salt))
    );
    // Auditors read, never write.
    app.upload(PATIENTS, &app.auditor(), CSV, patients_csv(2))
        .await
        .expect(403);
    // Two lists never share a salt.
    let r2 = app
        .upload(PATIENTS, &app.admin(), CSV, patients_csv(2))
        .await
        .expect(201);
    let s2 = app
        .get(
            &format!("/api/v1/lists/{}/salt", r2.body["id"].as_str().unwrap()),
            &app.admin(),
        )
        .await
        .expect(200);
    assert_ne!(s.body["salt"], s2.body["salt"]);
}

#[tokio::test]
async fn bad_lists_name_row_and_column_and_write_nothing() {
    let app = spawn_app().await;
    let before = app.audit_len().await;
    // No id column in the header.
    let r = app
        .upload(
            PATIENTS,
            &app.admin(),
            CSV,
            b"id,category,institution,disease,cost_fen,visit\nP1,a,b,c,1,2025-01-01\n".to_vec(),
        )
        .await
        .expect(422);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    assert!(
        rows_of(&r)
            .iter()
            .any(|(row, col, _)| *row == 1 && col == "patient_id"),
        "{}",
        r.text
    );
    // Duplicate ids (also across batches), a bad number, a bad date, an empty id.
    let mut csv = String::from_utf8(patients_csv(4500)).unwrap();
    csv.push_str("P000003,门慢,I1,D1,5,2025-01-01,\n");
    csv.push_str("P900001,门慢,I1,D1,5.5,2025-01-01,\n");
    csv.push_str("P900002,门慢,I1,D1,5,2025-02-30,\n");
    csv.push_str(",门慢,I1,D1,5,2025-02-01,\n");
    let r = app
        .upload(PATIENTS, &app.admin(), CSV, csv.into_bytes())
        .await
        .expect(422);
    let rows = rows_of(&r);
    assert_eq!(r.body["row_error_count"], 4, "{}", r.text);
    assert!(
        rows.contains(&(
            4502,
            "patient_id".into(),
            "duplicate id: row 5 has the same id".into()
        )),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|(row, col, _)| *row == 4503 && col == "cost_fen")
    );
    assert!(
        rows.iter()
            .any(|(row, col, _)| *row == 4504 && col == "visit")
    );
    assert!(
        rows.iter()
            .any(|(row, col, _)| *row == 4505 && col == "patient_id")
    );
    // A header only.
    let r = app
        .upload(
            PATIENTS,
            &app.admin(),
            CSV,
            b"patient_id,category,institution,disease,cost_fen,visit\n".to_vec(),
        )
        .await
        .expect(422);
    assert_eq!(rows_of(&r)[0].0, 2);
    // Bad declarations.
    app.upload(
        "/api/v1/lists?name=x&id_column=patient_id&columns=cost:float",
        &app.admin(),
        CSV,
        patients_csv(1),
    )
    .await
    .expect_problem_field(422, "columns");
    app.upload(
        "/api/v1/lists?name=&id_column=patient_id",
        &app.admin(),
        CSV,
        patients_csv(1),
    )
    .await
    .expect_problem_field(422, "name");
    app.upload(
        "/api/v1/lists?name=x&id_column=patient_id&columns=patient_id:text",
        &app.admin(),
        CSV,
        patients_csv(1),
    )
    .await
    .expect_problem_field(422, "columns");
    app.upload(PATIENTS, &app.admin(), "application/json", patients_csv(1))
        .await
        .expect(415);
    assert_eq!(count_lists(&app).await, 0);
    assert_eq!(app.audit_len().await, before);
}

#[tokio::test]
async fn an_unused_list_is_deleted_and_audited() {
    let app = spawn_app().await;
    let r = app
        .upload(
            PATIENTS,
            &app.coordinator("medical_insurance"),
            CSV,
            patients_csv(5),
        )
        .await
        .expect(201);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["organization"], "medical_insurance");
    let before = app.audit_len().await;
    let path = format!("/api/v1/lists/{id}");
    let del = |token: String| {
        let path = path.clone();
        let app = &app;
        async move {
            app.send(Method::DELETE, &path, Some(&token), None, &[])
                .await
        }
    };
    assert_eq!(del(app.auditor()).await.status, 403);
    assert_eq!(del(app.coordinator("health")).await.status, 403);
    assert_eq!(app.audit_len().await, before);
    assert_eq!(del(app.coordinator("medical_insurance")).await.status, 204);
    assert_eq!(app.audit_len().await, before + 1);
    app.get(&path, &app.admin()).await.expect(404);
    assert_eq!(del(app.admin()).await.status, 404);
    assert_eq!(count_lists(&app).await, 0);
}

#[tokio::test]
async fn xlsx_lists_are_read_from_the_first_sheet() {
    let app = spawn_app().await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, t) in ["bill_id", "amount_fen"].iter().enumerate() {
        sheet.write_string(0, c as u16, *t).unwrap();
    }
    for r in 1..=3u32 {
        sheet.write_string(r, 0, format!("B{r}")).unwrap();
        sheet.write_number(r, 1, f64::from(r * 100)).unwrap();
    }
    let bytes = book.save_to_buffer().unwrap();
    let r = app
        .upload(
            "/api/v1/lists?name=bills&id_column=bill_id&columns=amount_fen:integer",
            &app.admin(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            bytes,
        )
        .await
        .expect(201);
    assert_eq!(r.body["rows"], 3);
    assert_eq!(r.body["format"], "xlsx");
    let canonical = "{\"columns\":[{\"name\":\"amount_fen\",\"type\":\"integer\"}],\"id_column\":\"bill_id\"}\n[\"B1\",100]\n[\"B2\",200]\n[\"B3\",300]\n";
    let want: Value = hex::encode(Sha256::digest(canonical)).into();
    assert_eq!(r.body["sha256"], want);
}
