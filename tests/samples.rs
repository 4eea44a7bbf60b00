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

/// Vector 11 (B.15, B.16): a per-value cap and a nested (grouped) stratum.
fn load11() -> (Bundle2, Vec<u8>) {
    let bytes = std::fs::read(format!("{DIR}/11-v2-records-cap.json")).unwrap();
    let AnyBundle::V2(b) = parse_bundle(&bytes).unwrap() else {
        panic!("a /2 bundle")
    };
    let salt = std::fs::read_to_string(format!("{DIR}/11-v2-records-cap.salt")).unwrap();
    (*b, hex::decode(salt.trim()).unwrap())
}

#[test]
fn the_capped_and_nested_vector_verifies_and_respects_its_caps() {
    let (b, salt) = load11();
    suiji::draw::v2::verify2(&b).unwrap();
    let list = Path::new(DIR).join("11-v2-records-cap.list.csv");
    check(&b, &list, &salt).unwrap();
    // Map each drawn member back to its record through the list.
    let text = std::fs::read_to_string(&list).unwrap();
    let by_member: std::collections::HashMap<String, Vec<String>> = text
        .lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<String> = l.split(',').map(str::to_owned).collect();
            (member_hash(&salt, &cells[0]), cells)
        })
        .collect();
    let mut a = std::collections::HashMap::<String, u64>::new();
    let mut b_groups = std::collections::HashMap::<(String, String), u64>::new();
    let mut per_inst = std::collections::HashMap::<String, u64>::new();
    for s in &b.result.selections {
        let r = &by_member[&s.institution];
        if s.stratum == "a" {
            assert_eq!(r[1], "门慢");
            *a.entry(r[2].clone()).or_default() += 1;
        } else {
            assert_eq!(r[1], "门特");
            assert!(r[3] == "I1" || r[3] == "I3", "{r:?}");
            *b_groups.entry((r[3].clone(), r[2].clone())).or_default() += 1;
            *per_inst.entry(r[3].clone()).or_default() += 1;
        }
    }
    assert_eq!(a.values().sum::<u64>(), 6);
    assert!(a.values().all(|&n| n <= 2), "{a:?}");
    assert!(b_groups.values().all(|&n| n == 1), "{b_groups:?}");
    assert_eq!(per_inst.len(), 2);
    assert!(per_inst.values().all(|&n| n == 3), "{per_inst:?}");
    // Most 门慢 patients have disease D0: without the cap the draw would differ.
    let plain = {
        let mut s = b.snapshot.clone();
        for r in &mut s.records.as_mut().unwrap().strata {
            r.cap = None;
            r.group = None;
        }
        s
    };
    let seed: [u8; 32] = hex::decode(&b.result.seed).unwrap().try_into().unwrap();
    let capped = suiji::draw::sample::draw_stratum(
        &seed,
        &b.snapshot.strata[0],
        Some(&b.snapshot.records.as_ref().unwrap().strata[0]),
    );
    let uncapped = suiji::draw::sample::draw_stratum(
        &seed,
        &plain.strata[0],
        Some(&plain.records.as_ref().unwrap().strata[0]),
    );
    assert_ne!(capped, uncapped, "the cap binds in this vector");
}

#[test]
fn a_changed_committed_value_or_cap_is_found() {
    let (b, salt) = load11();
    let list = Path::new(DIR).join("11-v2-records-cap.list.csv");
    // The auditor: a committed disease hash that is not the record's.
    let mut t = b.clone();
    let values = &mut t.snapshot.records.as_mut().unwrap().strata[0]
        .cap
        .as_mut()
        .unwrap()
        .values;
    let last = values.len() - 1;
    values.swap(0, last);
    if values[0] != values[last] {
        let e = check(&t, &list, &salt).unwrap_err();
        assert!(e.contains("cap"), "{e}");
    }
    let mut t = b.clone();
    let g = t.snapshot.records.as_mut().unwrap().strata[1]
        .group
        .as_mut()
        .unwrap();
    g.values[0] = "0".repeat(64);
    let e = check(&t, &list, &salt).unwrap_err();
    assert!(e.contains("group"), "{e}");
    // Anyone: a raised cap changes the pool hash; a missing value is malformed.
    let mut t = b.clone();
    t.snapshot.records.as_mut().unwrap().strata[0]
        .cap
        .as_mut()
        .unwrap()
        .max = 3;
    let e = suiji::draw::v2::verify2(&t).unwrap_err();
    assert_eq!(e.step.name(), "pool_hash", "{e:?}");
    let mut t = b.clone();
    t.snapshot.records.as_mut().unwrap().strata[0]
        .cap
        .as_mut()
        .unwrap()
        .values
        .pop();
    let e = suiji::draw::v2::verify2(&t).unwrap_err();
    assert_eq!(e.step.name(), "snapshot", "{e:?}");
}

#[test]
fn a_draw_that_ignores_the_caps_and_groups_fails_at_selection() {
    let bytes = std::fs::read(format!("{DIR}/11-v2-records-cap.uncapped.json")).unwrap();
    let AnyBundle::V2(b) = parse_bundle(&bytes).unwrap() else {
        panic!("a /2 bundle")
    };
    let e = suiji::draw::v2::verify2(&b).unwrap_err();
    assert_eq!(e.step.name(), "selection", "{e:?}");
}

/// Vector 12 (B.18): the tree form of a plain, a capped and a nested stratum.
fn load12(name: &str) -> (Bundle2, Vec<u8>) {
    let bytes = std::fs::read(format!("{DIR}/{name}")).unwrap();
    let AnyBundle::V2(b) = parse_bundle(&bytes).unwrap() else {
        panic!("a /2 bundle")
    };
    let salt = std::fs::read_to_string(format!("{DIR}/12-v2-records-tree.salt")).unwrap();
    (*b, hex::decode(salt.trim()).unwrap())
}

#[test]
fn the_tree_form_vector_verifies_with_and_without_its_list() {
    let (b, salt) = load12("12-v2-records-tree.json");
    suiji::draw::v2::verify2(&b).unwrap();
    let list = Path::new(DIR).join("12-v2-records-tree.list.csv");
    check(&b, &list, &salt).unwrap();
    // No member listed in the snapshot; the disclosed ones are those the draw considered,
    // more than it took where the cap skipped some.
    assert!(b.snapshot.strata.iter().all(|s| s.members.is_empty()));
    let members = b.members.as_ref().unwrap();
    assert!(members.len() > b.result.selections.len());
    // The drawn records respect the cap (one per disease in b) and the groups (2 per
    // institution in c), seen through the list.
    let text = std::fs::read_to_string(&list).unwrap();
    let by_member: std::collections::HashMap<String, Vec<String>> = text
        .lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<String> = l.split(',').map(str::to_owned).collect();
            (member_hash(&salt, &cells[0]), cells)
        })
        .collect();
    let mut diseases = std::collections::HashSet::new();
    let mut per_inst = std::collections::HashMap::<String, u64>::new();
    for s in &b.result.selections {
        let r = &by_member[&s.institution];
        match s.stratum.as_str() {
            "a" => assert_eq!(r[1], "门慢"),
            "b" => {
                assert_eq!(r[1], "门特");
                assert!(diseases.insert(r[2].clone()), "one per disease");
            }
            _ => *per_inst.entry(r[3].clone()).or_default() += 1,
        }
    }
    assert_eq!(diseases.len(), 6);
    assert_eq!(per_inst.len(), 3);
    assert!(per_inst.values().all(|&n| n == 2));
    let text = std::fs::read_to_string(format!("{DIR}/12-v2-records-tree.json")).unwrap();
    assert!(!text.contains("R00"));
}

#[test]
fn a_tampered_tree_form_bundle_is_refused() {
    let (bad, salt) = load12("12-v2-records-tree.badpath.json");
    let e = suiji::draw::v2::verify2(&bad).unwrap_err();
    assert_eq!(e.step.name(), "selection", "{e:?}");
    assert!(e.reason.contains("path"), "{e:?}");
    let (b, _) = load12("12-v2-records-tree.json");
    // A swapped member: the path no longer leads to the root.
    let mut t = b.clone();
    let ms = t.members.as_mut().unwrap();
    let other = ms[1].member.clone();
    ms[0].member = other;
    let e = suiji::draw::v2::verify2(&t).unwrap_err();
    assert_eq!(e.step.name(), "selection", "{e:?}");
    // A considered member withheld: named by its index.
    let mut t = b.clone();
    t.members.as_mut().unwrap().remove(0);
    let e = suiji::draw::v2::verify2(&t).unwrap_err();
    assert!(e.reason.contains("not disclosed"), "{e:?}");
    // The members dropped altogether; or given to a list-form bundle.
    let mut t = b.clone();
    t.members = None;
    assert_eq!(
        suiji::draw::v2::verify2(&t).unwrap_err().step.name(),
        "bundle"
    );
    let (b10, _) = load();
    let mut t = b10.clone();
    t.members = Some(Vec::new());
    assert_eq!(
        suiji::draw::v2::verify2(&t).unwrap_err().step.name(),
        "bundle"
    );
    // The auditor: another salt's roots differ; a changed root changes the pool hash.
    let list = Path::new(DIR).join("12-v2-records-tree.list.csv");
    let mut t = b.clone();
    t.snapshot.records.as_mut().unwrap().strata[2]
        .trees
        .as_mut()
        .unwrap()[1]
        .size += 1;
    let e = check(&t, &list, &salt).unwrap_err();
    assert!(e.contains("stratum c"), "{e}");
    // (More members than the list has records: malformed.)
    assert_eq!(
        suiji::draw::v2::verify2(&t).unwrap_err().step.name(),
        "snapshot"
    );
    let mut t = b.clone();
    t.snapshot.records.as_mut().unwrap().strata[0]
        .trees
        .as_mut()
        .unwrap()[0]
        .root = "0".repeat(64);
    assert_eq!(
        suiji::draw::v2::verify2(&t).unwrap_err().step.name(),
        "pool_hash"
    );
    assert!(check(&t, &list, &salt).unwrap_err().contains("stratum a"));
}
