//! The vector of a sample of records (docs/draw-spec.md B.12): `tests/vectors/records/10-v2-records*`
//! verifies as a /2 bundle, its list and salt recompute every member hash, and any change to
//! the list, the salt or a stratum's members is found. Regenerate with
//! `cargo run --example sample_vectors`.

use std::path::Path;
use suiji::domain::list::member_hash;
use suiji::draw::sample::check_list;
use suiji::draw::v2::{AnyBundle, Bundle2, parse_bundle};

const DIR: &str = "tests/vectors/records";

fn load() -> (Bundle2, Vec<u8>) {
    let bytes = std::fs::read(format!("{DIR}/10-v2-records.json")).unwrap();
    let AnyBundle::V2(b) = parse_bundle(&bytes).unwrap() else {
        panic!("a /2 bundle")
    };
    let salt = std::fs::read_to_string(format!("{DIR}/10-v2-records.salt")).unwrap();
    (*b, hex::decode(salt.trim()).unwrap())
}

fn check(b: &Bundle2, list: &Path, salt: &[u8]) -> Result<(), String> {
    let records = b.snapshot.records.as_ref().unwrap();
    let columns: Vec<suiji::domain::list::ListColumn> = records
        .columns
        .iter()
        .map(|c| {
            serde_json::from_value(serde_json::json!({"name": c.name, "type": c.kind})).unwrap()
        })
        .collect();
    let rows = suiji::lists::read_file(list, &records.id_column, &columns)?;
    let strata: Vec<(&str, Vec<&str>)> = b
        .snapshot
        .strata
        .iter()
        .map(|s| {
            (
                s.id.as_str(),
                s.members.iter().map(|m| m.id.as_str()).collect(),
            )
        })
        .collect();
    check_list(records, &strata, salt, rows)
}

#[test]
fn the_records_vector_verifies_with_its_list_and_salt() {
    let (b, salt) = load();
    suiji::draw::v2::verify2(&b).unwrap();
    assert_eq!(b.result.selections.len(), 12);
    let list = Path::new(DIR).join("10-v2-records.list.csv");
    check(&b, &list, &salt).unwrap();
    // P0000 is in stratum c0 (门慢) under its member hash.
    let m = member_hash(&salt, "P0000");
    assert!(b.snapshot.strata[0].members.iter().any(|x| x.id == m));
    // No id in the bundle.
    let text = std::fs::read_to_string(format!("{DIR}/10-v2-records.json")).unwrap();
    assert!(!text.contains("P00"));
}

#[test]
fn a_changed_list_salt_or_member_is_found() {
    let (b, salt) = load();
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(Path::new(DIR).join("10-v2-records.list.csv")).unwrap();
    let write = |text: &str| {
        let p = dir.path().join("list.csv");
        std::fs::write(&p, text).unwrap();
        p
    };
    let mut wrong_salt = salt.clone();
    wrong_salt[0] ^= 1;
    let e = check(&b, &write(&original), &wrong_salt).unwrap_err();
    assert!(e.contains("salt"), "{e}");
    // One patient moved to another category: the content hash differs.
    let e = check(
        &b,
        &write(&original.replacen("P0001,门特", "P0001,门慢", 1)),
        &salt,
    )
    .unwrap_err();
    assert!(e.contains("canonical content"), "{e}");
    // A record left out.
    let cut: String = original
        .lines()
        .filter(|l| !l.starts_with("P0007,"))
        .map(|l| format!("{l}\n"))
        .collect();
    let e = check(&b, &write(&cut), &salt).unwrap_err();
    assert!(e.contains("39 records"), "{e}");
    // A member swapped in the snapshot: the strata no longer match the list.
    let mut t = b.clone();
    t.snapshot.strata[1].members[0].id = "0".repeat(64);
    let e = check(&t, &write(&original), &salt).unwrap_err();
    assert!(e.contains("stratum c1"), "{e}");
}
