//! suiji-draw/1 conformance: the vectors in tests/vectors/ (copies of the published ones)
//! recomputed byte for byte, tampered bundles rejected with a message naming the difference,
//! validation, feasibility, replacement errors and the `verify` command's exit codes.

use serde_json::{Value, json};
use suiji::draw::{
    self, Bundle, CanonicalJson, DrawError, EntropyValue, Mismatch, ReplaceError,
    ReplacementRequest, Snapshot, SnapshotProblem, canonical_json,
};

const VECTORS: [(&str, &str); 3] = [
    (
        "01-joint-5-percent",
        include_str!("vectors/01-joint-5-percent.json"),
    ),
    ("02-edge-cases", include_str!("vectors/02-edge-cases.json")),
    (
        "03-random-3000",
        include_str!("vectors/03-random-3000.json"),
    ),
];

fn vector(name: &str) -> Value {
    let text = VECTORS.iter().find(|(n, _)| *n == name).unwrap().1;
    serde_json::from_str(text).unwrap()
}

fn parse(v: &Value) -> Bundle {
    serde_json::from_value(v.clone()).unwrap()
}

#[test]
fn vectors_recompute_byte_for_byte() {
    for (name, text) in VECTORS {
        let raw: Value = serde_json::from_str(text).unwrap();
        let b: Bundle = serde_json::from_str(text).unwrap();

        // The typed canonical writers agree with the generic, key-sorting one.
        let snap_bytes = canonical_json(&raw["snapshot"]).unwrap();
        assert_eq!(
            b.snapshot.canonical_bytes(),
            snap_bytes,
            "{name}: snapshot bytes"
        );
        assert_eq!(
            draw::pool_hash(&b.snapshot),
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&snap_bytes)),
            "{name}: pool hash"
        );
        let given_result = canonical_json(&raw["result"]).unwrap();
        assert_eq!(
            b.result.canonical_bytes(),
            given_result,
            "{name}: result bytes"
        );

        // Recompute the result from snapshot + entropy.
        let result = draw::draw(&b.snapshot, &b.entropy).unwrap();
        assert_eq!(
            result.canonical_bytes(),
            given_result,
            "{name}: recomputed result"
        );
        assert_eq!(
            draw::result_hash(&result),
            b.result_hash,
            "{name}: result_hash"
        );
        assert_eq!(result, b.result);

        // Recompute every replacement from its request.
        for (i, r) in b.replacements.iter().enumerate() {
            let again =
                draw::replace(&b.snapshot, &result, &b.replacements[..i], &r.request()).unwrap();
            assert_eq!(&again, r, "{name}: replacement {}", r.seq);
        }
        let re_bundle = draw::bundle(
            b.snapshot.clone(),
            b.entropy.clone(),
            result,
            b.replacements.clone(),
        );
        assert_eq!(re_bundle, b);
        assert_eq!(
            re_bundle.canonical_bytes(),
            canonical_json(&raw).unwrap(),
            "{name}: bundle bytes"
        );

        let v = draw::verify(&b).unwrap_or_else(|m| panic!("{name}: {m}"));
        assert_eq!(v.result_hash, b.result_hash);
        assert_eq!(v.selections, b.result.selections.len());
        assert_eq!(v.replacements, b.replacements.len());
    }
}

#[test]
fn seed_and_commitments() {
    let b = parse(&vector("01-joint-5-percent"));
    let seed = draw::seed(&b.result.pool_hash, &b.entropy).unwrap();
    assert_eq!(hex::encode(seed), b.result.seed);
    // Order of the reveals does not matter: the seed document sorts them.
    let mut rev = b.entropy.clone();
    rev.reverse();
    assert_eq!(draw::seed(&b.result.pool_hash, &rev).unwrap(), seed);
    for (plan, value) in b.snapshot.entropy_plan.iter().zip(&b.entropy) {
        assert!(draw::check_commitment(
            plan.commitment.as_deref().unwrap(),
            &value.value
        ));
    }
    assert!(!draw::check_commitment(
        b.snapshot.entropy_plan[0].commitment.as_deref().unwrap(),
        &b.entropy[1].value
    ));
    assert!(!draw::check_commitment("00", "zz"));
}

/// Apply `f` to a copy of `name`'s bundle and return verify's verdict as text.
fn tampered(name: &str, f: impl FnOnce(&mut Value)) -> String {
    let mut v = vector(name);
    f(&mut v);
    let b: Bundle = serde_json::from_value(v).expect("still a bundle");
    match draw::verify(&b) {
        Ok(_) => panic!("tampered {name} accepted"),
        Err(m) => m.to_string(),
    }
}

#[test]
fn tampered_snapshot_rejected() {
    type Edit = fn(&mut Value);
    let edits: Vec<(&str, Edit)> = vec![
        ("task_id", |v| v["snapshot"]["task_id"] = json!("other")),
        ("cross_region", |v| {
            v["snapshot"]["cross_region"] = json!(false)
        }),
        ("cap", |v| {
            v["snapshot"]["max_assignments_per_inspector"] = json!(3)
        }),
        ("lead", |v| {
            v["snapshot"]["lead_department"] = json!("medical_insurance")
        }),
        ("ratio", |v| {
            v["snapshot"]["strata"][0]["ratio"]["num"] = json!(2)
        }),
        ("min", |v| v["snapshot"]["strata"][0]["min"] = json!(1)),
        ("max", |v| v["snapshot"]["strata"][0]["max"] = json!(4)),
        ("member region", |v| {
            v["snapshot"]["strata"][0]["members"][0]["region"] = json!("east")
        }),
        ("member id", |v| {
            v["snapshot"]["strata"][0]["members"][19]["id"] = json!("C21")
        }),
        ("team_size", |v| {
            v["snapshot"]["departments"][1]["team_size"] = json!(1)
        }),
        ("conflict", |v| {
            v["snapshot"]["departments"][1]["inspectors"][2]["conflicts"] = json!(["C13"])
        }),
        ("inspector region", |v| {
            v["snapshot"]["departments"][0]["inspectors"][0]["region"] = json!(null)
        }),
        ("note", |v| {
            v["snapshot"]["entropy_plan"][0]["note"] = json!("round 23000001")
        }),
    ];
    for (what, edit) in edits {
        let msg = tampered("02-edge-cases", edit);
        assert!(!msg.is_empty(), "{what}");
    }
    // Any change to the snapshot changes the pool hash.
    let msg = tampered("01-joint-5-percent", |v| {
        v["snapshot"]["task_id"] = json!("x")
    });
    assert!(msg.starts_with("pool_hash differs"), "{msg}");
    // A structural problem is named as such.
    let msg = tampered("01-joint-5-percent", |v| {
        v["snapshot"]["strata"][1]["members"][0]["id"] = json!("P999")
    });
    assert!(msg.contains("not sorted"), "{msg}");
}

#[test]
fn tampered_entropy_rejected() {
    let msg = tampered("01-joint-5-percent", |v| {
        v["entropy"][0]["value"] =
            json!("367ac060d7e5643f03145eba3989d9729ff1ad6bf75d7ab236c80d40f4b8b35c")
    });
    assert_eq!(
        msg,
        "reveal of department:health does not match its commitment"
    );
    let msg = tampered("02-edge-cases", |v| {
        v["entropy"][0]["value"] =
            json!("ff2ed2099f8bbc53ebfd7b9788ff3172c2ba2409849ba91b1372790d7b7f2e39")
    });
    assert!(msg.starts_with("seed differs"), "{msg}");
    let msg = tampered("02-edge-cases", |v| {
        v["entropy"][0]["source"] = json!("beacon:other")
    });
    assert!(msg.contains("beacon:"), "{msg}");
    let msg = tampered("03-random-3000", |v| {
        v["entropy"].as_array_mut().unwrap().pop();
    });
    assert_eq!(
        msg,
        "no value for planned entropy source department:medical_insurance"
    );
    let msg = tampered("02-edge-cases", |v| {
        v["entropy"][0]["value"] =
            json!("FE2ED2099F8BBC53EBFD7B9788FF3172C2BA2409849BA91B1372790D7B7F2E39")
    });
    assert!(msg.contains("not lowercase hex"), "{msg}");
}

#[test]
fn tampered_result_rejected() {
    let b = parse(&vector("01-joint-5-percent"));
    let third = b.result.selections[2].institution.clone();
    let other = b.snapshot.strata[1]
        .members
        .iter()
        .map(|m| m.id.clone())
        .find(|id| *id != third)
        .unwrap();
    let msg = tampered("01-joint-5-percent", |v| {
        v["result"]["selections"][2]["institution"] = json!(other)
    });
    assert_eq!(
        msg,
        format!("selection 3: institution {third} expected, {other} found")
    );

    let msg = tampered("02-edge-cases", |v| {
        v["result"]["selections"][0]["team"][1]["inspectors"] = json!(["mi-3", "mi-4"])
    });
    assert_eq!(
        msg,
        "selection 1: medical_insurance team [mi-4, mi-3] expected, [mi-3, mi-4] found"
    );
    let msg = tampered("02-edge-cases", |v| {
        v["result"]["selections"][1]["leader"] = json!("h-1")
    });
    assert_eq!(msg, "selection 2: leader h-2 expected, h-1 found");
    let msg = tampered("02-edge-cases", |v| {
        v["result"]["selections"][4]["order"] = json!(6)
    });
    assert_eq!(msg, "selection 5: order 5 expected, 6 found");
    let msg = tampered("02-edge-cases", |v| {
        v["result"]["selections"][4]["stratum"] = json!("capped")
    });
    assert_eq!(msg, "selection 5: stratum full expected, capped found");
    let msg = tampered("03-random-3000", |v| {
        v["result"]["selections"].as_array_mut().unwrap().pop();
    });
    assert_eq!(msg, "446 selections expected, 445 found");
    let msg = tampered("03-random-3000", |v| {
        v["result"]["seed"] =
            json!("0000000000000000000000000000000000000000000000000000000000000000")
    });
    assert!(msg.starts_with("seed differs"), "{msg}");
    let msg = tampered("03-random-3000", |v| {
        v["result"]["pool_hash"] =
            json!("0000000000000000000000000000000000000000000000000000000000000000")
    });
    assert!(msg.starts_with("pool_hash differs"), "{msg}");
    let msg = tampered("03-random-3000", |v| {
        v["result"]["spec"] = json!("suiji-draw/2")
    });
    assert!(msg.starts_with("result spec"), "{msg}");
    let msg = tampered("03-random-3000", |v| {
        v["result_hash"] = json!("386768ffea5cdff5e545bd230fa249c5f8b23ceb58ee2048bc3104c09bb6781e")
    });
    assert!(msg.starts_with("result_hash differs"), "{msg}");
}

#[test]
fn tampered_replacements_rejected() {
    let msg = tampered("02-edge-cases", |v| {
        v["replacements"][1]["in"] = json!("mi-3")
    });
    assert_eq!(msg, "replacement seq 2: in mi-1 expected, mi-3 found");
    let msg = tampered("02-edge-cases", |v| {
        v["replacements"][2]["out"] = json!("h-1")
    });
    assert!(msg.starts_with("replacement seq 3: h-1 is not in"), "{msg}");
    let msg = tampered("02-edge-cases", |v| v["replacements"][0]["seq"] = json!(2));
    assert_eq!(msg, "replacement 1: seq 2 found, 1 expected");
    let msg = tampered("02-edge-cases", |v| {
        v["replacements"][2]["institution"] = json!("C13")
    });
    assert!(msg.starts_with("replacement seq 3:"), "{msg}");
    let msg = tampered("02-edge-cases", |v| {
        v["replacements"][2]["department"] = json!("medical_insurance")
    });
    assert!(msg.starts_with("replacement seq 3:"), "{msg}");
    let msg = tampered("02-edge-cases", |v| {
        v["replacements"][0]["institution"] = json!("XX")
    });
    assert_eq!(
        msg,
        "replacement seq 1: institution XX is not among the selections"
    );
}

#[test]
fn canonical_json_ignores_map_order() {
    // Whatever serde_json's map type keeps (insertion order with preserve_order), keys
    // come out sorted.
    let a: Value = serde_json::from_str(r#"{"b":1,"a":{"y":[true,null],"x":"\u0001é"}}"#).unwrap();
    assert_eq!(
        String::from_utf8(canonical_json(&a).unwrap()).unwrap(),
        "{\"a\":{\"x\":\"\\u0001é\",\"y\":[true,null]},\"b\":1}"
    );
}

fn small_snapshot() -> Snapshot {
    serde_json::from_value(json!({
        "spec": "suiji-draw/1", "task_id": "t", "lead_department": "a",
        "cross_region": true, "max_assignments_per_inspector": null,
        "strata": [
            {"id": "s", "ratio": {"num": 1, "den": 1}, "min": 0, "max": null,
             "members": [{"id": "I1", "region": "r1"}, {"id": "I2", "region": "r2"},
                         {"id": "I3", "region": null}]}
        ],
        "departments": [
            {"code": "a", "team_size": 1, "inspectors": [
                {"id": "a1", "region": "r1", "conflicts": ["I2"]},
                {"id": "a2", "region": "r2", "conflicts": []},
                {"id": "a3", "region": null, "conflicts": ["I1", "I3"]}]},
            {"code": "b", "team_size": 2, "inspectors": [
                {"id": "b1", "region": "r1", "conflicts": []},
                {"id": "b2", "region": "r2", "conflicts": []},
                {"id": "b3", "region": null, "conflicts": []}]}
        ],
        "entropy_plan": [{"source": "beacon:x", "commitment": null, "note": null}]
    }))
    .unwrap()
}

fn beacon() -> Vec<EntropyValue> {
    vec![EntropyValue {
        source: "beacon:x".into(),
        value: "00ff".into(),
    }]
}

#[test]
fn infeasible_pairs_are_all_listed() {
    let s = small_snapshot();
    // I1 (r1): a -> a1 same region, a3 conflict, a2 ok. b -> b2, b3 ok.
    // I2 (r2): a -> a1 conflict, a2 same region, a3 ok; b -> b1, b3 ok.
    // I3 (none): a -> a3 conflict; a1, a2 ok; b -> all three.
    assert!(draw::infeasible_pairs(&s).is_empty());
    assert!(draw::draw(&s, &beacon()).is_ok());

    let mut s2 = s.clone();
    s2.departments[0].inspectors[0].conflicts = vec!["I1".into(), "I2".into()];
    s2.departments[0].inspectors[1].conflicts = vec!["I1".into()];
    s2.departments[1].team_size = 3;
    assert_eq!(
        draw::infeasible_pairs(&s2),
        vec![
            ("I1".to_string(), "a".to_string()),
            ("I1".to_string(), "b".to_string()),
            ("I2".to_string(), "b".to_string()),
        ]
    );
    match draw::draw(&s2, &beacon()) {
        Err(DrawError::Infeasible(p)) => assert_eq!(p.len(), 3),
        other => panic!("{other:?}"),
    }
    // Without the cross-region rule only the conflicts count.
    s2.cross_region = false;
    assert_eq!(
        draw::infeasible_pairs(&s2),
        vec![("I1".to_string(), "a".to_string())]
    );
}

#[test]
fn validation_reports_problems() {
    let s = small_snapshot();
    assert!(draw::validate(&s).is_empty());

    let mut bad = s.clone();
    bad.strata[0].members.swap(0, 1);
    bad.strata[0].ratio.den = 0;
    bad.departments[1].team_size = 0;
    bad.departments[0].inspectors[2].conflicts.reverse();
    bad.departments[0].inspectors[0].id = "a\0".into();
    bad.lead_department = "zz".into();
    bad.entropy_plan[0].commitment = Some("ab".into());
    let problems = draw::validate(&bad);
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        problems.contains(&SnapshotProblem::ZeroDenominator("s".into())),
        "{text:?}"
    );
    assert!(problems.contains(&SnapshotProblem::ZeroTeamSize("b".into())));
    assert!(problems.contains(&SnapshotProblem::UnknownLeadDepartment("zz".into())));
    assert!(problems.contains(&SnapshotProblem::BeaconCommitment("beacon:x".into())));
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, SnapshotProblem::MemberOrder { .. }))
    );
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, SnapshotProblem::ConflictOrder { .. }))
    );
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, SnapshotProblem::NulByte { .. }))
    );
    assert!(matches!(
        draw::draw(&bad, &beacon()),
        Err(DrawError::Invalid(_))
    ));

    let mut two = s.clone();
    let mut st = two.strata[0].clone();
    st.id = "t".into();
    st.members.truncate(1);
    two.strata.push(st);
    assert_eq!(
        draw::validate(&two),
        vec![SnapshotProblem::MemberInTwoStrata {
            id: "I1".into(),
            first: "s".into(),
            second: "t".into()
        }]
    );

    let mut e = s.clone();
    e.entropy_plan.clear();
    assert_eq!(draw::validate(&e), vec![SnapshotProblem::NoEntropy]);
    let mut d = s.clone();
    d.entropy_plan[0].source = "department:a".into();
    assert_eq!(
        draw::validate(&d),
        vec![SnapshotProblem::BadCommitment("department:a".into())]
    );
}

#[test]
fn entropy_must_fit_the_plan() {
    let s = small_snapshot();
    let mut extra = beacon();
    extra.push(EntropyValue {
        source: "beacon:y".into(),
        value: "00".into(),
    });
    assert_eq!(
        draw::draw(&s, &extra).unwrap_err().to_string(),
        "entropy source beacon:y is not in the entropy plan"
    );
    assert_eq!(
        draw::draw(&s, &[]).unwrap_err().to_string(),
        "no value for planned entropy source beacon:x"
    );
    let mut dup = beacon();
    dup.push(dup[0].clone());
    assert!(matches!(
        draw::draw(&s, &dup),
        Err(DrawError::Entropy(draw::EntropyError::Duplicate(_)))
    ));
}

#[test]
fn replacement_errors() {
    let b = parse(&vector("02-edge-cases"));
    let req = |seq: u64, inst: &str, dept: &str, out: &str| ReplacementRequest {
        seq,
        institution: inst.into(),
        department: dept.into(),
        out: out.into(),
        reason: "r".into(),
    };
    let r = &b.result;
    let s = &b.snapshot;
    assert_eq!(
        draw::replace(s, r, &[], &req(1, "C02", "health", "h-1")),
        Err(ReplaceError::UnknownInstitution("C02".into()))
    );
    assert_eq!(
        draw::replace(s, r, &[], &req(1, "C13", "police", "h-1")),
        Err(ReplaceError::UnknownDepartment("police".into()))
    );
    assert!(matches!(
        draw::replace(s, r, &[], &req(1, "C13", "health", "h-2")),
        Err(ReplaceError::NotInTeam { .. })
    ));
    assert!(matches!(
        draw::replace(s, r, &[], &req(2, "C13", "health", "h-1")),
        Err(ReplaceError::Seq {
            expected: 1,
            found: 2
        })
    ));
    // health has two inspectors: after h-1 leaves C13, h-2 comes in; after h-2 leaves too,
    // nobody is left.
    let first = draw::replace(s, r, &[], &req(1, "C13", "health", "h-1")).unwrap();
    assert_eq!(first.r#in, "h-2");
    assert_eq!(
        draw::replace(s, r, &[first], &req(2, "C13", "health", "h-2")),
        Err(ReplaceError::NoEligibleSubstitute {
            institution: "C13".into(),
            department: "health".into()
        })
    );
}

#[test]
fn replacement_keeps_position_and_leader_rule() {
    let b = parse(&vector("02-edge-cases"));
    let mut state = draw::ReplayState::new(&b.snapshot, &b.result).unwrap();
    for r in &b.replacements {
        assert_eq!(state.substitute(&r.request()).unwrap(), r.r#in);
        state.apply(r).unwrap();
    }
    // C13 medical_insurance was [mi-4, mi-3]; mi-4 -> mi-2 -> mi-1 in first position.
    assert_eq!(
        state.team("C13", "medical_insurance").unwrap(),
        ["mi-1".to_string(), "mi-3".to_string()]
    );
}

#[test]
fn mismatch_messages_are_words() {
    let m = Mismatch::Selection {
        position: 3,
        field: "institution".into(),
        expected: "P056".into(),
        found: "P012".into(),
    };
    assert_eq!(
        m.to_string(),
        "selection 3: institution P056 expected, P012 found"
    );
}

#[test]
fn verify_command_exit_codes() {
    use std::process::ExitCode;
    let dir = std::env::temp_dir().join(format!("suiji-verify-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.json");
    std::fs::write(&good, VECTORS[1].1).unwrap();
    assert_eq!(suiji::verify_cmd::run(&good, &[]), ExitCode::SUCCESS);

    let mut v = vector("02-edge-cases");
    v["replacements"][1]["in"] = json!("mi-3");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, serde_json::to_vec(&v).unwrap()).unwrap();
    assert_eq!(suiji::verify_cmd::run(&bad, &[]), ExitCode::from(1));

    let junk = dir.join("junk.json");
    std::fs::write(&junk, b"{\"spec\": 1}").unwrap();
    assert_eq!(suiji::verify_cmd::run(&junk, &[]), ExitCode::from(2));
    assert_eq!(
        suiji::verify_cmd::run(&dir.join("missing.json"), &[]),
        ExitCode::from(2)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
