//! suiji-draw/2 conformance: every vector in tests/vectors/ verifies (both specs, through
//! the dispatching parser), every tampered twin fails at the step and with the reason listed
//! in tests/vectors/tampered/expected.json, and the rules of part B each have a test that
//! tampers and fails.

use std::fs;
use std::path::Path;

use serde_json::{Value, json};
use suiji::draw::merkle::ConflictLeaf;
use suiji::draw::v2::*;
use suiji::draw::{CanonicalJson, EntropyValue, ReplacementRequest, quicknet};

const DIR: &str = "tests/vectors";

fn read(name: &str) -> Vec<u8> {
    fs::read(Path::new(DIR).join(name)).unwrap()
}

fn any(name: &str) -> AnyBundle {
    parse_bundle(&read(name)).unwrap()
}

fn v2(name: &str) -> Bundle2 {
    match any(name) {
        AnyBundle::V2(b) => *b,
        AnyBundle::V1(_) => panic!("{name} is /1"),
    }
}

fn from_value(v: &Value) -> AnyBundle {
    parse_bundle(&serde_json::to_vec(v).unwrap()).unwrap()
}

#[test]
fn every_vector_verifies() {
    let mut n = 0;
    for e in fs::read_dir(DIR).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".json") {
            continue;
        }
        let b = any(&name);
        let s = b.verify().unwrap_or_else(|f| panic!("{name}: {f}"));
        assert_eq!(s.result_hash, b.result_hash(), "{name}");
        if let AnyBundle::V2(b2) = &b {
            let prev: Vec<AnyBundle> = fs::read_dir(DIR)
                .unwrap()
                .filter_map(|e| {
                    let n = e.unwrap().file_name().into_string().unwrap();
                    n.ends_with(".json").then(|| any(&n))
                })
                .collect();
            check_exclusions(b2, &prev).unwrap_or_else(|f| panic!("{name}: {f}"));
        }
        n += 1;
    }
    assert_eq!(n, 10, "three /1 and seven /2 vectors");
}

#[test]
fn every_tampered_twin_fails_with_its_named_reason() {
    let expected: serde_json::Map<String, Value> =
        serde_json::from_slice(&read("tampered/expected.json")).unwrap();
    assert_eq!(expected.len(), 10);
    for (name, e) in expected {
        let b = any(&format!("tampered/{name}"));
        let failure = match (b.verify(), &b) {
            (Err(f), _) => f,
            (Ok(_), AnyBundle::V2(b2)) => {
                let prev: Vec<AnyBundle> = e["previous"]
                    .as_str()
                    .map(|p| vec![any(p)])
                    .unwrap_or_default();
                check_exclusions(b2, &prev).expect_err(&name)
            }
            (Ok(_), AnyBundle::V1(_)) => panic!("tampered {name} verifies"),
        };
        assert_eq!(failure.step.name(), e["step"], "{name}: {failure}");
        let reason = e["reason"].as_str().unwrap();
        assert!(
            failure.reason.contains(reason),
            "{name}: reason {:?} does not name {reason:?}",
            failure.reason
        );
    }
}

#[test]
fn v1_vectors_keep_their_result_hashes() {
    // /1 is untouched: the published result hashes still come out byte for byte.
    for name in [
        "01-joint-5-percent.json",
        "02-edge-cases.json",
        "03-random-3000.json",
    ] {
        let b = any(name);
        assert!(matches!(b, AnyBundle::V1(_)));
        assert_eq!(b.verify().unwrap().result_hash, b.result_hash());
    }
}

#[test]
fn beacon_is_bound_to_its_round() {
    let mut b = v2("04-v2-joint-beacon.json");
    b.beacon.as_mut().unwrap().round = 657414;
    let f = verify2(&b).unwrap_err();
    assert_eq!(f.step, Step::Beacon);
    assert!(f.reason.contains("657414"), "{f}");
    let mut b = v2("04-v2-joint-beacon.json");
    b.beacon = None;
    assert_eq!(verify2(&b).unwrap_err().step, Step::Beacon);
    let mut b = v2("04-v2-joint-beacon.json");
    b.beacon.as_mut().unwrap().signature = "ab".repeat(48);
    assert_eq!(verify2(&b).unwrap_err().step, Step::Beacon);
}

#[test]
fn beacon_round_must_come_after_the_reveal_deadline() {
    let mut b = v2("04-v2-joint-beacon.json");
    b.snapshot.reveal_deadline = quicknet::round_time(657413).unwrap();
    let f = verify2(&b).unwrap_err();
    assert_eq!(f.step, Step::Snapshot, "{f}");
    assert!(f.reason.contains("not after the reveal deadline"), "{f}");
    let e = Entropy2 {
        reveals: b.entropy.clone(),
        forfeited: vec![],
        beacon: b.beacon.clone(),
    };
    let f = seed2(&b.snapshot, &b.result.pool_hash, &e).unwrap_err();
    assert_eq!(f.step, Step::Beacon, "{f}");
}

#[test]
fn forfeits_need_a_beacon_and_change_the_seed() {
    let b = v2("05-v2-forfeit.json");
    assert_eq!(b.forfeited, vec!["department:market".to_owned()]);
    // Same bundle, no beacon in the plan: forfeits are refused.
    let mut snap = b.snapshot.clone();
    snap.entropy_plan.retain(|e| e.source != quicknet::SOURCE);
    let e = Entropy2 {
        reveals: b.entropy.clone(),
        forfeited: b.forfeited.clone(),
        beacon: None,
    };
    let f = seed2(&snap, &b.result.pool_hash, &e).unwrap_err();
    assert_eq!(f.step, Step::Forfeit, "{f}");
    // Claiming the forfeiting department revealed after all: its value is not committed.
    let mut t = b.clone();
    t.forfeited.clear();
    t.entropy.push(EntropyValue {
        source: "department:market".into(),
        value: "00".repeat(32),
    });
    t.entropy.sort_by(|a, b| a.source.cmp(&b.source));
    let f = verify2(&t).unwrap_err();
    assert_eq!(f.step, Step::Commitment, "{f}");
    assert!(f.reason.contains("department:market"));
}

#[test]
fn every_change_to_the_replacement_chain_names_the_record() {
    let b = v2("06-v2-replacements.json");
    assert_eq!(b.replacements.len(), 5);
    assert_eq!(b.replacements[0].prev, b.result_hash);
    assert_eq!(b.replacements_head, b.replacements[4].hash);
    type Tamper = Box<dyn Fn(&mut Bundle2)>;
    let cases: Vec<(&str, Tamper)> = vec![
        ("seq 2", Box::new(|b| b.replacements[1].reason.push('。'))),
        (
            "record 2",
            Box::new(|b| {
                b.replacements.swap(1, 2);
            }),
        ),
        (
            "record 3",
            Box::new(|b| {
                b.replacements.remove(2);
            }),
        ),
        (
            "replacements_head",
            Box::new(|b| {
                b.replacements.pop();
            }),
        ),
        (
            "seq 4",
            Box::new(|b| {
                // Rewrite record 4's reason and its hash: the next record's prev no longer fits.
                b.replacements[3].reason = "改写".into();
                b.replacements[3].hash = record_hash(&b.replacements[3]);
            }),
        ),
    ];
    for (needle, f) in cases {
        let mut t = b.clone();
        f(&mut t);
        let err = verify2(&t).unwrap_err();
        assert_eq!(err.step, Step::Replacement, "{needle}: {err}");
        assert!(
            err.reason.contains(needle) || needle == "seq 4" && err.reason.contains("seq 5"),
            "{needle}: {err}"
        );
    }
}

#[test]
fn replace2_chains_onto_the_bundle() {
    let b = v2("06-v2-replacements.json");
    let leaves = b.conflicts.full.clone().unwrap();
    let sel = &b.result.selections[0];
    let req = ReplacementRequest {
        seq: 6,
        institution: sel.institution.clone(),
        department: sel.team[1].department.clone(),
        out: sel.team[1].inspectors[0].clone(),
        reason: "第六次".into(),
    };
    let r = replace2(&b.snapshot, &leaves, &b.result, &b.replacements, &req).unwrap();
    assert_eq!(r.prev, b.replacements_head);
    let mut t = b.clone();
    t.replacements.push(r.clone());
    t.replacements_head = r.hash.clone();
    verify2(&t).unwrap();
}

#[test]
fn a_sample_without_teams_has_null_leaders() {
    let b = v2("07-v2-sample-no-teams.json");
    assert!(b.snapshot.departments.is_empty());
    assert!(b.snapshot.lead_department.is_none());
    assert!(
        b.result
            .selections
            .iter()
            .all(|s| s.leader.is_none() && s.team.is_empty())
    );
    let mut t = b.clone();
    t.result.selections[0].leader = Some("someone".into());
    t.result_hash = result_hash2(&t.result);
    assert_eq!(verify2(&t).unwrap_err().step, Step::Team);
}

#[test]
fn exclusions_must_equal_what_the_earlier_draw_took() {
    let b = v2("08-v2-exclusions.json");
    let prev = any("04-v2-joint-beacon.json");
    check_exclusions(&b, std::slice::from_ref(&prev)).unwrap();
    let f = check_exclusions(&b, &[]).unwrap_err();
    assert_eq!(f.step, Step::Exclusion);
    assert!(f.reason.contains("T2-04-joint"), "{f}");
    // An earlier bundle that no longer verifies is refused too.
    let mut v: Value = serde_json::from_slice(&read("04-v2-joint-beacon.json")).unwrap();
    v["result"]["seed"] = json!("00".repeat(32));
    let f = check_exclusions(&b, &[from_value(&v)]).unwrap_err();
    assert!(f.reason.contains("does not verify"), "{f}");
    // A pool that still lists an excluded institution is not well-formed.
    let mut t = b.clone();
    t.snapshot.exclusions[0].institutions.push("P999".into());
    t.snapshot.strata[0].members.push(suiji::draw::Member {
        id: "P999".into(),
        region: None,
    });
    assert!(validate2(&t.snapshot).iter().any(|p| p.contains("P999")));
}

#[test]
fn the_public_bundle_shows_only_the_drawn_institutions_conflicts() {
    let auditor = v2("06-v2-replacements.json");
    let public = v2("09-v2-public.json");
    assert_eq!(public_bundle(&auditor).unwrap(), public);
    let proofs = public.conflicts.proofs.as_ref().unwrap();
    let mut drawn: Vec<&str> = public
        .result
        .selections
        .iter()
        .map(|s| s.institution.as_str())
        .collect();
    drawn.sort();
    let mut shown: Vec<&str> = proofs.iter().map(|p| p.institution.as_str()).collect();
    shown.sort();
    assert_eq!(shown, drawn);
    assert!(proofs.len() < auditor.conflicts.full.as_ref().unwrap().len());
    // A missing proof is named.
    let mut t = public.clone();
    let gone = t.conflicts.proofs.as_mut().unwrap().remove(0);
    let f = verify2(&t).unwrap_err();
    assert_eq!(f.step, Step::Conflicts, "{f}");
    assert!(f.reason.contains(&gone.institution), "{f}");
    // Hiding a conflict in the auditor's bundle breaks the root.
    let mut t = auditor.clone();
    let leaf: &mut ConflictLeaf = t
        .conflicts
        .full
        .as_mut()
        .unwrap()
        .iter_mut()
        .find(|l| !l.inspectors.is_empty())
        .unwrap();
    leaf.inspectors.clear();
    assert_eq!(verify2(&t).unwrap_err().step, Step::Conflicts);
}

#[test]
fn trust_levels_are_stated() {
    assert_eq!(
        any("04-v2-joint-beacon.json").trust(),
        Trust::Beacon { round: 657413 }
    );
    assert_eq!(
        any("01-joint-5-percent.json").trust(),
        Trust::SeveralDepartments { count: 3 }
    );
    assert_eq!(any("02-edge-cases.json").trust(), Trust::OneDepartment);
    let t = Trust::Beacon { round: 657413 };
    assert!(t.zh().contains("657413") && t.en().contains("no party can steer it"));
}

fn suiji_verify(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_suiji"))
        .arg("verify")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_command_checks_v2_bundles_exclusions_and_states_the_trust() {
    let (code, out, err) = suiji_verify(&["tests/vectors/04-v2-joint-beacon.json"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("suiji-draw/2") && out.contains("第 657413 轮"),
        "{out}"
    );
    assert!(out.contains("no party can steer it"), "{out}");

    let (code, out, _) = suiji_verify(&["tests/vectors/08-v2-exclusions.json"]);
    assert_eq!(code, 0);
    assert!(out.contains("NOT checked"), "{out}");
    let prev = "tests/vectors/04-v2-joint-beacon.json";
    let (code, out, err) =
        suiji_verify(&["tests/vectors/08-v2-exclusions.json", "--previous", prev]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("each checked"), "{out}");
    let (code, _, err) = suiji_verify(&[
        "tests/vectors/tampered/08-v2-exclusions.json",
        "--previous",
        prev,
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("at step exclusion") && err.contains("P001"),
        "{err}"
    );

    let (code, _, err) = suiji_verify(&["tests/vectors/tampered/06-v2-replacements.json"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("at step replacement") && err.contains("seq 3"),
        "{err}"
    );
    let (code, out, _) = suiji_verify(&["tests/vectors/01-joint-5-percent.json"]);
    assert_eq!(code, 0);
    assert!(out.contains("any one honest department suffices"), "{out}");
    let (code, _, _) = suiji_verify(&["tests/vectors/tampered/expected.json"]);
    assert_eq!(code, 2);
}

// ---------------------------------------------------------------- team size ranges (B.14)

const RANGE: &str = "10-v2-team-range.json";

fn team_sizes(b: &Bundle2, dept: &str) -> Vec<usize> {
    b.result
        .selections
        .iter()
        .map(|s| {
            s.team
                .iter()
                .find(|t| t.department == dept)
                .unwrap()
                .inspectors
                .len()
        })
        .collect()
}

#[test]
fn team_ranges_reach_the_max_stop_at_the_cap_and_at_too_few_eligible() {
    let b = v2(RANGE);
    verify2(&b).unwrap();
    let snap = &b.snapshot;
    let cap = snap.max_assignments_per_inspector.unwrap() as usize;
    // health 1–2, 8 inspectors: every team reaches the max.
    assert!(team_sizes(&b, "health").iter().all(|&n| n == 2));
    // market 1–3, 4 inspectors under a cap of 3: 12 assignments at most; level by level,
    // so no team has 3 while another has 1 that could have taken a second.
    let market = team_sizes(&b, "market");
    assert!(market.iter().all(|&n| (1..=3).contains(&n)));
    assert!(market.iter().sum::<usize>() <= 4 * cap);
    assert!(market.iter().all(|&n| n < 3), "the cap binds: {market:?}");
    assert!(market.contains(&2), "{market:?}");
    // medins 1–2: a 東城 institution has a single eligible medins inspector (the region
    // rule), so its team stays at the minimum; the others reach 2.
    let region: std::collections::HashMap<&str, &str> = snap
        .strata
        .iter()
        .flat_map(|s| &s.members)
        .map(|m| (m.id.as_str(), m.region.as_deref().unwrap()))
        .collect();
    let medins = team_sizes(&b, "medins");
    let mut short = 0;
    for (s, n) in b.result.selections.iter().zip(&medins) {
        if region[s.institution.as_str()] == "东城" {
            assert_eq!(*n, 1, "{}", s.institution);
            short += 1;
        } else {
            assert_eq!(*n, 2, "{}", s.institution);
        }
    }
    assert!(short > 0 && short < medins.len(), "{medins:?}");
    // Loads: no inspector beyond the cap because of an extra member.
    let mut loads: std::collections::HashMap<&str, usize> = Default::default();
    for s in &b.result.selections {
        for t in &s.team {
            for i in &t.inspectors {
                *loads.entry(i.as_str()).or_default() += 1;
            }
        }
    }
    for (i, l) in loads {
        assert!(l <= cap || i == "medins-06", "{i} has {l}");
    }
    // `suiji verify` recomputes it too.
    let (code, out, err) = suiji_verify(&["tests/vectors/10-v2-team-range.json"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn a_changed_extra_member_or_range_fails_its_step() {
    let b = v2(RANGE);
    let (x, d) = b
        .result
        .selections
        .iter()
        .enumerate()
        .find_map(|(x, s)| {
            s.team
                .iter()
                .position(|t| t.department == "health")
                .map(|d| (x, d))
        })
        .unwrap();
    // Dropping an extra member.
    let mut t = b.clone();
    t.result.selections[x].team[d].inspectors.pop();
    t.result_hash = result_hash2(&t.result);
    t.replacements_head = t.result_hash.clone();
    let f = verify2(&t).unwrap_err();
    assert_eq!(f.step, Step::Team, "{f}");
    // Swapping the minimum member and the extra one.
    let mut t = b.clone();
    t.result.selections[x].team[d].inspectors.swap(0, 1);
    t.result_hash = result_hash2(&t.result);
    t.replacements_head = t.result_hash.clone();
    assert_eq!(verify2(&t).unwrap_err().step, Step::Team);
    // The range is covered by the pool hash.
    let mut t = b.clone();
    t.snapshot.departments[0].team_size_max = None;
    assert_eq!(verify2(&t).unwrap_err().step, Step::PoolHash);
    // Out of range: above 20 or below team_size.
    for bad in [21, 0] {
        let mut t = b.clone();
        t.snapshot.departments[0].team_size_max = Some(bad);
        let f = verify2(&t).unwrap_err();
        assert_eq!(f.step, Step::Snapshot, "{f}");
        assert!(f.reason.contains("team_size_max"), "{f}");
    }
}

#[test]
fn without_a_range_the_snapshot_keeps_its_bytes() {
    let b = v2("04-v2-joint-beacon.json");
    let mut t = b.clone();
    let text = String::from_utf8(t.snapshot.canonical_bytes()).unwrap();
    assert!(!text.contains("team_size_max"));
    // The typed canonical form equals the canonical form of the JSON (what the browser
    // verifier hashes), with and without a range.
    let r = v2(RANGE);
    for snap in [&b.snapshot, &r.snapshot] {
        let v = serde_json::to_value(snap).unwrap();
        assert_eq!(
            suiji::draw::canonical_json(&v).unwrap(),
            snap.canonical_bytes()
        );
    }
    assert!(
        String::from_utf8(r.snapshot.canonical_bytes())
            .unwrap()
            .contains("\"team_size_max\":2")
    );
    // A range equal to team_size is written (so it changes the pool hash) but adds nobody.
    t.snapshot.departments[0].team_size_max = Some(t.snapshot.departments[0].team_size);
    let leaves = t.conflicts.full.clone().unwrap();
    let e = Entropy2 {
        reveals: t.entropy.clone(),
        forfeited: t.forfeited.clone(),
        beacon: t.beacon.clone(),
    };
    let r = draw2(&t.snapshot, &leaves, &e).unwrap();
    assert_ne!(r.pool_hash, b.result.pool_hash);
    for s in &r.selections {
        for (team, d) in s.team.iter().zip(&t.snapshot.departments) {
            assert_eq!(team.inspectors.len() as u64, d.team_size);
        }
    }
}

#[test]
fn an_extra_member_is_replaced_like_a_minimum_member() {
    let b = v2(RANGE);
    let leaves = b.conflicts.full.clone().unwrap();
    let (sel, d) = b
        .result
        .selections
        .iter()
        .find_map(|s| {
            s.team
                .iter()
                .find(|t| t.department == "medins" && t.inspectors.len() == 2)
                .map(|t| (s, t))
        })
        .unwrap();
    let req = ReplacementRequest {
        seq: 1,
        institution: sel.institution.clone(),
        department: d.department.clone(),
        out: d.inspectors[1].clone(),
        reason: "增派人员请假".into(),
    };
    let r = replace2(&b.snapshot, &leaves, &b.result, &[], &req).unwrap();
    assert!(!d.inspectors.contains(&r.r#in));
    let mut t = b.clone();
    t.replacements.push(r.clone());
    t.replacements_head = r.hash.clone();
    verify2(&t).unwrap();
    let public = public_bundle(&t).unwrap();
    verify2(&public).unwrap();
}
