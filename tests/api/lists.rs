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

pub const INSTITUTIONS: &str = "/api/v1/lists?name=%E6%9C%BA%E6%9E%84&id_column=credit_code&columns=cost_per_person:integer,grassroots:text,kind:text";

/// `n` institutions: cost per person falls with the index (ties every 10th pair), one in
/// four is grassroots (是), every 5th is a pharmacy.
pub fn institutions_csv(n: usize) -> Vec<u8> {
    let mut s = String::from("credit_code,cost_per_person,grassroots,kind\n");
    for i in 0..n {
        let cost = 100_000 - (i / 2) * 100 - if i % 20 < 2 { 0 } else { i % 2 } * 7;
        s.push_str(&format!(
            "I{i:03},{cost},{},{}\n",
            if i % 4 == 3 { "是" } else { "否" },
            if i % 5 == 4 { "pharmacy" } else { "hospital" }
        ));
    }
    s.into_bytes()
}

fn ids_in_order(csv: &[u8]) -> Vec<String> {
    String::from_utf8(csv.to_vec())
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_top_n_ranking_is_saved_as_a_list_with_its_rule() {
    let app = spawn_app().await;
    let src = app
        .upload(INSTITUTIONS, &app.admin(), CSV, institutions_csv(300))
        .await
        .expect(201);
    let src_id = src.body["id"].as_str().unwrap().to_string();
    let before = app.audit_len().await;
    // Top 10 hospitals by cost per person, at least 5 of them grassroots.
    let r = app
        .post(
            &format!("/api/v1/lists/{src_id}/top"),
            &app.admin(),
            serde_json::json!({"name": "人均费用前10", "by": "cost_per_person", "n": 10,
                "where": {"kind": ["hospital"]},
                "at_least": {"where": {"grassroots": ["是"]}, "count": 5}}),
        )
        .await
        .expect(201);
    let top = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["rows"], 10);
    assert_eq!(r.body["format"], "top");
    assert_eq!(r.body["derivation"]["kind"], "top");
    assert_eq!(r.body["derivation"]["sources"], serde_json::json!([src_id]));
    assert_eq!(
        r.body["derivation"]["rule"]["source_sha256"],
        src.body["sha256"]
    );
    assert_eq!(app.audit_len().await, before + 1);
    // The expected ranking, by hand: hospitals ranked by cost desc then id; the 5 best
    // grassroots hospitals, then the 5 best others.
    let mut hospitals: Vec<(i64, String, bool)> = Vec::new();
    for (i, line) in String::from_utf8(institutions_csv(300))
        .unwrap()
        .lines()
        .skip(1)
        .enumerate()
    {
        let c: Vec<&str> = line.split(',').collect();
        if c[3] == "hospital" {
            hospitals.push((
                -c[1].parse::<i64>().unwrap(),
                c[0].to_string(),
                c[2] == "是",
            ));
        }
        let _ = i;
    }
    hospitals.sort();
    let grass: Vec<_> = hospitals.iter().filter(|h| h.2).take(5).cloned().collect();
    let others: Vec<_> = hospitals
        .iter()
        .filter(|h| !grass.contains(h))
        .take(5)
        .cloned()
        .collect();
    let mut expected: Vec<_> = grass.into_iter().chain(others).collect();
    expected.sort();
    let expected: Vec<String> = expected.into_iter().map(|h| h.1).collect();
    // The saved list, read back through its records: the salt recomputes its hash, and a
    // sample taking every record of it returns them; here we check the canonical content.
    let mut canon = String::from(
        r#"{"columns":[{"name":"cost_per_person","type":"integer"},{"name":"grassroots","type":"text"},{"name":"kind","type":"text"}],"id_column":"credit_code"}"#,
    );
    canon.push('\n');
    let all = String::from_utf8(institutions_csv(300)).unwrap();
    for id in &expected {
        let line = all
            .lines()
            .find(|l| l.starts_with(&format!("{id},")))
            .unwrap();
        let c: Vec<&str> = line.split(',').collect();
        canon.push_str(&format!(
            "[\"{}\",{},\"{}\",\"{}\"]\n",
            c[0], c[1], c[2], c[3]
        ));
    }
    assert_eq!(
        r.body["sha256"].as_str().unwrap(),
        hex::encode(Sha256::digest(canon.as_bytes())),
        "expected order {expected:?}"
    );
    // The source is now kept.
    let del = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/lists/{src_id}"),
            Some(&app.admin()),
            None,
            &[],
        )
        .await;
    assert_eq!(del.status, 409, "{}", del.text);
    let meta = app
        .get(&format!("/api/v1/lists/{src_id}"), &app.admin())
        .await
        .expect(200);
    assert_eq!(
        meta.body["used_by"],
        serde_json::json!([format!("list:{top}")])
    );

    // Bad rules: 422 naming the field, nothing written.
    let before = app.audit_len().await;
    let n = count_lists(&app).await;
    for (body, field) in [
        (
            serde_json::json!({"name": "x", "by": "grassroots", "n": 10}),
            "by",
        ),
        (
            serde_json::json!({"name": "x", "by": "cost_per_person", "n": 0}),
            "n",
        ),
        (
            serde_json::json!({"name": "x", "by": "cost_per_person", "n": 3,
                "at_least": {"where": {"grassroots": ["是"]}, "count": 4}}),
            "at_least.count",
        ),
        (
            serde_json::json!({"name": "x", "by": "cost_per_person", "n": 3, "where": {"colour": ["red"]}}),
            "where.colour",
        ),
    ] {
        app.post(&format!("/api/v1/lists/{src_id}/top"), &app.admin(), body)
            .await
            .expect_problem_field(422, field);
    }
    app.post(
        "/api/v1/lists/no-such-list/top",
        &app.admin(),
        serde_json::json!({"name": "x", "by": "cost_per_person", "n": 3}),
    )
    .await
    .expect(404);
    app.post(
        &format!("/api/v1/lists/{src_id}/top"),
        &app.auditor(),
        serde_json::json!({"name": "x", "by": "cost_per_person", "n": 3}),
    )
    .await
    .expect(403);
    assert_eq!(app.audit_len().await, before);
    assert_eq!(count_lists(&app).await, n);
}

#[tokio::test]
async fn an_intersection_of_lists_is_saved_in_the_first_lists_order() {
    let app = spawn_app().await;
    let a = app
        .upload(INSTITUTIONS, &app.admin(), CSV, institutions_csv(40))
        .await
        .expect(201);
    // Patients: their institution column is the key to intersect on.
    let p = app
        .upload(PATIENTS, &app.admin(), CSV, patients_csv(20))
        .await
        .expect(201);
    let (a_id, p_id) = (
        a.body["id"].as_str().unwrap().to_string(),
        p.body["id"].as_str().unwrap().to_string(),
    );
    let r = app
        .post(
            "/api/v1/lists/intersection",
            &app.admin(),
            serde_json::json!({"name": "有患者的机构", "lists": [
                {"list": a_id, "key": "credit_code"}, {"list": p_id, "key": "institution"}]}),
        )
        .await
        .expect(201);
    // patients_csv institutions are I000..I006 written as I{i % 7:03}.
    assert_eq!(r.body["rows"], 7);
    assert_eq!(r.body["derivation"]["kind"], "intersection");
    let all = ids_in_order(&institutions_csv(40));
    assert_eq!(
        &all[..7],
        ["I000", "I001", "I002", "I003", "I004", "I005", "I006"]
    );
    // The other way round: the patients whose institution is among the first 3 ranked.
    let top = app
        .post(
            &format!("/api/v1/lists/{a_id}/top"),
            &app.admin(),
            serde_json::json!({"name": "前3", "by": "cost_per_person", "n": 3}),
        )
        .await
        .expect(201);
    let r = app
        .post(
            "/api/v1/lists/intersection",
            &app.admin(),
            serde_json::json!({"name": "前3机构的患者", "lists": [
                {"list": p_id, "key": "institution"},
                {"list": top.body["id"], "key": "credit_code"}]}),
        )
        .await
        .expect(201);
    // I000, I001, I002 (cost falls with the index): patients i with i % 7 < 3.
    assert_eq!(r.body["rows"], (0..20).filter(|i| i % 7 < 3).count());
    assert_eq!(r.body["id_column"], "patient_id");
    // Bad input names the field and writes nothing.
    let before = app.audit_len().await;
    app.post(
        "/api/v1/lists/intersection",
        &app.admin(),
        serde_json::json!({"name": "x", "lists": [{"list": a_id, "key": "credit_code"}]}),
    )
    .await
    .expect_problem_field(422, "lists");
    app.post(
        "/api/v1/lists/intersection",
        &app.admin(),
        serde_json::json!({"name": "x", "lists": [
            {"list": a_id, "key": "colour"}, {"list": "nope", "key": "x"}]}),
    )
    .await
    .expect_problem_field(422, "lists[0].key")
    .expect_problem_field(422, "lists[1].list");
    assert_eq!(app.audit_len().await, before);
}
