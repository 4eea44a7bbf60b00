//! Writes the vector of a sample of records (docs/draw-spec.md B.12) into
//! `tests/vectors/records/`
//! (run from the repository root):
//!
//! ```text
//! cargo run --example sample_vectors
//! ```
//!
//! `10-v2-records.list.csv` is the list (40 patients over 4 categories), `10-v2-records.salt`
//! its salt (hex), `10-v2-records.json` the auditor's bundle of a draw of 3 patients per
//! category with the beacon of quicknet round 657413. Deterministic: the same files every
//! run. `tests/samples.rs` checks them.
//!
//! `11-v2-records-cap.*` (B.15, B.16): a list of 120 patients in 4 institutions; stratum `a`
//! draws 6 门慢 patients with at most 2 per disease, stratum `b` draws 3 门特 patients in
//! each of institutions I1 and I3 with at most 1 per disease.
//!
//! `12-v2-records-tree.*` (B.18, the tree form): 40 patients; stratum `a` draws 3 门慢
//! patients, `b` 6 门特 patients with at most 1 per disease, `c` 2 patients of 国谈药 or
//! 双通道 in each institution; the bundle discloses only the considered members, with
//! paths. `12-v2-records-tree.badpath.json` is its twin with one path entry changed.

use std::fs;

use serde_json::Value;
use suiji::domain::list::{ContentHash, ListColumn, member_hash, parse_columns, salt_commitment};
use suiji::draw::merkle::ConflictLeaf;
use suiji::draw::sample::{Condition, Matcher, RecordColumn, RecordStratum, Records};
use suiji::draw::v2::*;
use suiji::draw::{Member, Ratio, Stratum};

const ROUND: u64 = 657413;
const SIG: &str = "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b";
const DIR: &str = "tests/vectors/records";
const CATEGORIES: [&str; 4] = ["门慢", "门特", "国谈药", "双通道"];

/// The list: (id, [category, disease, cost_fen]).
fn list() -> Vec<(String, Vec<Value>)> {
    (0..40u64)
        .map(|i| {
            (
                format!("P{i:04}"),
                vec![
                    Value::from(CATEGORIES[(i % 4) as usize]),
                    Value::from(format!("D{}", i % 3)),
                    Value::from(1000 + i * 113 % 997),
                ],
            )
        })
        .collect()
}

fn columns() -> Vec<ListColumn> {
    parse_columns("category:text,disease:text,cost_fen:integer", "patient_id").unwrap()
}

fn csv() -> String {
    let mut s = String::from("patient_id,category,disease,cost_fen\n");
    for (id, v) in list() {
        s.push_str(&format!(
            "{id},{},{},{}\n",
            v[0].as_str().unwrap(),
            v[1].as_str().unwrap(),
            v[2]
        ));
    }
    s
}

fn main() {
    let salt = sha256_hex(b"salt of the B.12 vector");
    let salt_bytes = hex::decode(&salt).unwrap();
    let mut content = ContentHash::new("patient_id", &columns());
    for (id, v) in list() {
        content.row(&id, &v);
    }
    let records = Records {
        list_sha256: content.finish(),
        list_rows: 40,
        id_column: "patient_id".into(),
        columns: columns()
            .iter()
            .map(|c| RecordColumn {
                name: c.name.clone(),
                kind: serde_json::to_value(c.kind)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned(),
            })
            .collect(),
        salt_commitment: salt_commitment(&salt_bytes),
        derivation: None,
        strata: CATEGORIES
            .iter()
            .enumerate()
            .map(|(i, c)| RecordStratum {
                cap: None,
                group: None,
                trees: None,
                stratum: format!("c{i}"),
                conditions: vec![Condition {
                    column: "category".into(),
                    values: vec![(*c).to_owned()],
                }],
            })
            .collect(),
    };
    let matcher = Matcher::new(&records).unwrap();
    let mut members: Vec<Vec<String>> = vec![Vec::new(); 4];
    for (id, v) in list() {
        if let Some(s) = matcher.stratum_of(&v) {
            members[s].push(member_hash(&salt_bytes, &id));
        }
    }
    let strata: Vec<Stratum> = members
        .into_iter()
        .enumerate()
        .map(|(i, mut m)| {
            m.sort();
            Stratum {
                id: format!("c{i}"),
                ratio: Ratio { num: 0, den: 1 },
                min: 3,
                max: Some(3),
                members: m
                    .into_iter()
                    .map(|id| Member { id, region: None })
                    .collect(),
            }
        })
        .collect();
    let leaves: Vec<ConflictLeaf> = strata
        .iter()
        .flat_map(|s| &s.members)
        .map(|m| ConflictLeaf {
            institution: m.id.clone(),
            inspectors: Vec::new(),
        })
        .collect();
    let snapshot = Snapshot2 {
        spec: SPEC2.to_owned(),
        task_id: "T2-10-records".into(),
        lead_department: None,
        cross_region: false,
        max_assignments_per_inspector: None,
        reveal_deadline: 1692795600,
        strata,
        departments: Vec::new(),
        conflicts_root: conflicts_root(&leaves),
        exclusions: Vec::new(),
        entropy_plan: vec![PlanEntry2 {
            source: suiji::draw::quicknet::SOURCE.to_owned(),
            commitment: None,
            round: Some(ROUND),
            note: None,
        }],
        records: Some(records),
    };
    let entropy = Entropy2 {
        reveals: Vec::new(),
        forfeited: Vec::new(),
        beacon: Some(Beacon {
            round: ROUND,
            signature: SIG.to_owned(),
        }),
    };
    let result = draw2(&snapshot, &leaves, &entropy).expect("draw");
    let bundle = auditor_bundle(snapshot, leaves, entropy, result, Vec::new());
    verify2(&bundle).unwrap();
    let mut s = serde_json::to_string_pretty(&bundle).unwrap();
    s.push('\n');
    fs::create_dir_all(DIR).unwrap();
    fs::write(format!("{DIR}/10-v2-records.json"), s).unwrap();
    fs::write(format!("{DIR}/10-v2-records.list.csv"), csv()).unwrap();
    fs::write(format!("{DIR}/10-v2-records.salt"), format!("{salt}\n")).unwrap();
    capped_and_nested();
    tree_form();
}

/// The list of vector 11: (id, [category, disease, institution]).
fn list11() -> Vec<(String, Vec<Value>)> {
    (0..120u64)
        .map(|i| {
            (
                format!("Q{i:04}"),
                vec![
                    Value::from(CATEGORIES[(i % 4) as usize]),
                    // Skewed: most patients share D0, so an uncapped draw would concentrate.
                    Value::from(format!("D{}", if i % 7 < 4 { 0 } else { i % 5 })),
                    Value::from(format!("I{}", i / 3 % 4)),
                ],
            )
        })
        .collect()
}

fn capped_and_nested() {
    use suiji::draw::sample::{Grouping, ValueCap, value_hash, value_text};
    let salt = sha256_hex(b"salt of the B.15 vector");
    let salt_bytes = hex::decode(&salt).unwrap();
    let cols = parse_columns("category:text,disease:text,institution:text", "patient_id").unwrap();
    let mut content = ContentHash::new("patient_id", &cols);
    for (id, v) in list11() {
        content.row(&id, &v);
    }
    let cond = |column: &str, values: &[&str]| Condition {
        column: column.into(),
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    };
    let mut records = Records {
        list_sha256: content.finish(),
        list_rows: 120,
        id_column: "patient_id".into(),
        columns: cols
            .iter()
            .map(|c| RecordColumn {
                name: c.name.clone(),
                kind: serde_json::to_value(c.kind)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned(),
            })
            .collect(),
        salt_commitment: salt_commitment(&salt_bytes),
        derivation: None,
        strata: vec![
            RecordStratum {
                stratum: "a".into(),
                conditions: vec![cond("category", &["门慢"])],
                cap: None,
                group: None,
                trees: None,
            },
            RecordStratum {
                stratum: "b".into(),
                conditions: vec![
                    cond("category", &["门特"]),
                    cond("institution", &["I1", "I3"]),
                ],
                cap: None,
                group: None,
                trees: None,
            },
        ],
    };
    let matcher = Matcher::new(&records).unwrap();
    // (member, disease hash, institution hash) per stratum.
    let mut members: Vec<Vec<(String, String, String)>> = vec![Vec::new(); 2];
    for (id, v) in list11() {
        if let Some(s) = matcher.stratum_of(&v) {
            members[s].push((
                member_hash(&salt_bytes, &id),
                value_hash(&salt_bytes, "disease", &value_text(&v[1])),
                value_hash(&salt_bytes, "institution", &value_text(&v[2])),
            ));
        }
    }
    for m in &mut members {
        m.sort();
    }
    records.strata[0].cap = Some(ValueCap {
        column: "disease".into(),
        max: 2,
        values: members[0].iter().map(|m| m.1.clone()).collect(),
    });
    records.strata[1].cap = Some(ValueCap {
        column: "disease".into(),
        max: 1,
        values: members[1].iter().map(|m| m.1.clone()).collect(),
    });
    records.strata[1].group = Some(Grouping {
        column: "institution".into(),
        values: members[1].iter().map(|m| m.2.clone()).collect(),
    });
    let strata: Vec<Stratum> = members
        .iter()
        .zip([("a", 6), ("b", 3)])
        .map(|(m, (id, k))| Stratum {
            id: id.into(),
            ratio: Ratio { num: 0, den: 1 },
            min: k,
            max: Some(k),
            members: m
                .iter()
                .map(|x| Member {
                    id: x.0.clone(),
                    region: None,
                })
                .collect(),
        })
        .collect();
    let leaves: Vec<ConflictLeaf> = strata
        .iter()
        .flat_map(|s| &s.members)
        .map(|m| ConflictLeaf {
            institution: m.id.clone(),
            inspectors: Vec::new(),
        })
        .collect();
    let snapshot = Snapshot2 {
        spec: SPEC2.to_owned(),
        task_id: "T2-11-records-cap".into(),
        lead_department: None,
        cross_region: false,
        max_assignments_per_inspector: None,
        reveal_deadline: 1692795600,
        strata,
        departments: Vec::new(),
        conflicts_root: conflicts_root(&leaves),
        exclusions: Vec::new(),
        entropy_plan: vec![PlanEntry2 {
            source: suiji::draw::quicknet::SOURCE.to_owned(),
            commitment: None,
            round: Some(ROUND),
            note: None,
        }],
        records: Some(records),
    };
    let entropy = Entropy2 {
        reveals: Vec::new(),
        forfeited: Vec::new(),
        beacon: Some(Beacon {
            round: ROUND,
            signature: SIG.to_owned(),
        }),
    };
    let rs = &snapshot.records.as_ref().unwrap().strata;
    for (st, r) in snapshot.strata.iter().zip(rs) {
        let short = suiji::draw::sample::cap_shortfalls(st, r);
        assert!(short.is_empty(), "stratum {}: {short:?}", st.id);
    }
    let result = draw2(&snapshot, &leaves, &entropy).expect("draw");
    let bundle = auditor_bundle(snapshot, leaves, entropy, result, Vec::new());
    verify2(&bundle).unwrap();
    let mut s = serde_json::to_string_pretty(&bundle).unwrap();
    s.push('\n');
    fs::write(format!("{DIR}/11-v2-records-cap.json"), s).unwrap();
    // Its tampered twin: the selections an implementation ignoring caps and groups would
    // make, with everything else intact. Verifiers must fail it at step `selection`.
    let mut plain = bundle.snapshot.clone();
    for r in &mut plain.records.as_mut().unwrap().strata {
        r.cap = None;
        r.group = None;
    }
    let seed: [u8; 32] = hex::decode(&bundle.result.seed)
        .unwrap()
        .try_into()
        .unwrap();
    let mut tampered = bundle.clone();
    tampered.result.selections.clear();
    for (st, r) in plain
        .strata
        .iter()
        .zip(&plain.records.as_ref().unwrap().strata)
    {
        for i in suiji::draw::sample::draw_stratum(&seed, st, Some(r)) {
            tampered.result.selections.push(Selection2 {
                order: tampered.result.selections.len() as u64 + 1,
                stratum: st.id.clone(),
                institution: st.members[i].id.clone(),
                leader: None,
                team: Vec::new(),
            });
        }
    }
    tampered.result_hash = result_hash2(&tampered.result);
    tampered.replacements_head = tampered.result_hash.clone();
    let mut s = serde_json::to_string_pretty(&tampered).unwrap();
    s.push('\n');
    fs::write(format!("{DIR}/11-v2-records-cap.uncapped.json"), s).unwrap();
    let mut csv = String::from("patient_id,category,disease,institution\n");
    for (id, v) in list11() {
        csv.push_str(&format!(
            "{id},{},{},{}\n",
            v[0].as_str().unwrap(),
            v[1].as_str().unwrap(),
            v[2].as_str().unwrap()
        ));
    }
    fs::write(format!("{DIR}/11-v2-records-cap.list.csv"), csv).unwrap();
    fs::write(format!("{DIR}/11-v2-records-cap.salt"), format!("{salt}\n")).unwrap();
}

/// The list of vector 12: (id, [category, disease, institution]).
fn list12() -> Vec<(String, Vec<Value>)> {
    (0..40u64)
        .map(|i| {
            (
                format!("R{i:04}"),
                vec![
                    Value::from(CATEGORIES[(i % 4) as usize]),
                    Value::from(format!("D{}", if i % 3 == 0 { 0 } else { i % 7 })),
                    Value::from(format!("I{}", i / 3 % 3)),
                ],
            )
        })
        .collect()
}

/// Vector 12: the tree form (B.18) of a plain, a capped and a nested stratum.
fn tree_form() {
    use suiji::draw::sample::{Grouping, ValueCap, value_hash, value_text};
    use suiji::draw::tree::{Hash, Sealer, disclose_subtree, unhex};
    let salt = sha256_hex(b"salt of the B.18 vector");
    let salt_bytes = hex::decode(&salt).unwrap();
    let cols = parse_columns("category:text,disease:text,institution:text", "patient_id").unwrap();
    let mut content = ContentHash::new("patient_id", &cols);
    for (id, v) in list12() {
        content.row(&id, &v);
    }
    let cond = |column: &str, values: &[&str]| Condition {
        column: column.into(),
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    };
    let rstratum = |id: &str, conditions: Vec<Condition>| RecordStratum {
        stratum: id.into(),
        conditions,
        cap: None,
        group: None,
        trees: None,
    };
    let mut records = Records {
        list_sha256: content.finish(),
        list_rows: 40,
        id_column: "patient_id".into(),
        columns: cols
            .iter()
            .map(|c| RecordColumn {
                name: c.name.clone(),
                kind: serde_json::to_value(c.kind)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned(),
            })
            .collect(),
        salt_commitment: salt_commitment(&salt_bytes),
        derivation: None,
        strata: vec![
            rstratum("a", vec![cond("category", &["门慢"])]),
            rstratum("b", vec![cond("category", &["门特"])]),
            rstratum("c", vec![cond("category", &["双通道", "国谈药"])]),
        ],
    };
    records.strata[1].cap = Some(ValueCap {
        column: "disease".into(),
        max: 1,
        values: Vec::new(),
    });
    records.strata[2].group = Some(Grouping {
        column: "institution".into(),
        values: Vec::new(),
    });
    let matcher = Matcher::new(&records).unwrap();
    // (member, cap value, group value) per record that belongs to a stratum, by member hash.
    type Row = ([u8; 32], usize, Option<[u8; 32]>, Option<[u8; 32]>);
    let mut rows: Vec<Row> = Vec::new();
    for (id, v) in list12() {
        if let Some(s) = matcher.stratum_of(&v) {
            let h = |c: &str, x: &Value| unhex(&value_hash(&salt_bytes, c, &value_text(x)));
            rows.push((
                unhex(&member_hash(&salt_bytes, &id)).unwrap(),
                s,
                (s == 1).then(|| h("disease", &v[1]).unwrap()),
                (s == 2).then(|| h("institution", &v[2]).unwrap()),
            ));
        }
    }
    rows.sort();
    let mut sealer = Sealer::new(vec![false, false, true]);
    for (m, s, cap, group) in &rows {
        sealer
            .push(*s, m, group.as_ref(), cap.as_ref())
            .expect("ascending");
    }
    for (rs, trees) in records.strata.iter_mut().zip(sealer.finish()) {
        rs.trees = Some(trees);
    }
    let strata: Vec<Stratum> = [("a", 3), ("b", 6), ("c", 2)]
        .into_iter()
        .map(|(id, k)| Stratum {
            id: id.into(),
            ratio: Ratio { num: 0, den: 1 },
            min: k,
            max: Some(k),
            members: Vec::new(),
        })
        .collect();
    let snapshot = Snapshot2 {
        spec: SPEC2.to_owned(),
        task_id: "T2-12-records-tree".into(),
        lead_department: None,
        cross_region: false,
        max_assignments_per_inspector: None,
        reveal_deadline: 1692795600,
        strata,
        departments: Vec::new(),
        conflicts_root: conflicts_root(&[]),
        exclusions: Vec::new(),
        entropy_plan: vec![PlanEntry2 {
            source: suiji::draw::quicknet::SOURCE.to_owned(),
            commitment: None,
            round: Some(ROUND),
            note: None,
        }],
        records: Some(records),
    };
    let entropy = Entropy2 {
        reveals: Vec::new(),
        forfeited: Vec::new(),
        beacon: Some(Beacon {
            round: ROUND,
            signature: SIG.to_owned(),
        }),
    };
    let seed = seed_of(&snapshot, &entropy).expect("seed");
    let mut members = Vec::new();
    for (si, st) in snapshot.strata.iter().enumerate() {
        let rs = &snapshot.records.as_ref().unwrap().strata[si];
        type Leaves = Vec<(Hash, Option<Hash>)>;
        let mut groups: std::collections::BTreeMap<Option<Hash>, Leaves> =
            std::collections::BTreeMap::new();
        for (m, s, cap, group) in &rows {
            if *s == si {
                groups.entry(*group).or_default().push((*m, *cap));
            }
        }
        for (g, leaves) in groups {
            let g = g.map(hex::encode);
            members.extend(disclose_subtree(
                &seed,
                st,
                g.as_deref(),
                rs.cap.as_ref().map(|c| c.max),
                &leaves,
            ));
        }
    }
    let result = draw2_tree(&snapshot, &entropy, &members).expect("draw");
    let mut bundle = auditor_bundle(snapshot, Vec::new(), entropy, result, Vec::new());
    bundle.members = Some(members);
    verify2(&bundle).unwrap();
    let mut s = serde_json::to_string_pretty(&bundle).unwrap();
    s.push('\n');
    fs::write(format!("{DIR}/12-v2-records-tree.json"), s).unwrap();
    // The tampered twin: one path entry of the last disclosed member changed.
    let mut bad = bundle.clone();
    let m = bad.members.as_mut().unwrap().last_mut().unwrap();
    let p = m.path.first_mut().expect("a path");
    *p = sha256_hex(p.as_bytes());
    assert!(verify2(&bad).is_err());
    let mut s = serde_json::to_string_pretty(&bad).unwrap();
    s.push('\n');
    fs::write(format!("{DIR}/12-v2-records-tree.badpath.json"), s).unwrap();
    let mut csv = String::from("patient_id,category,disease,institution\n");
    for (id, v) in list12() {
        csv.push_str(&format!(
            "{id},{},{},{}\n",
            v[0].as_str().unwrap(),
            v[1].as_str().unwrap(),
            v[2].as_str().unwrap()
        ));
    }
    fs::write(format!("{DIR}/12-v2-records-tree.list.csv"), csv).unwrap();
    fs::write(
        format!("{DIR}/12-v2-records-tree.salt"),
        format!("{salt}\n"),
    )
    .unwrap();
}
