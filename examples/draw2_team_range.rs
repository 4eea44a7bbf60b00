//! Writes `tests/vectors/10-v2-team-range.json`, the suiji-draw/2 vector of team size ranges
//! (docs/draw-spec.md B.14), run from the repository root:
//!
//! ```text
//! cargo run --example draw2_team_range
//! ```
//!
//! Deterministic. One joint draw, cross-region, `max_assignments_per_inspector` 3, three
//! departments with a range each:
//! - `health` 1–2 with 8 inspectors: every team reaches 2;
//! - `market` 1–3 with 4 inspectors: the cap stops the pass (4 × 3 = 12 assignments for 6
//!   teams: every team gets its second member, none a third);
//! - `medins` (lead) 1–2 with 6 inspectors, five of them in 东城: a 东城 institution has one
//!   eligible medins inspector, who is already its minimum member, so its team stays at 1.
//!
//! `tests/draw2.rs` checks these properties on the file, and every verifier recomputes it.
//! Also writes `tests/vectors/tampered/10-v2-team-range.json` (one extra member changed).

use std::fs;

use suiji::draw::merkle::ConflictLeaf;
use suiji::draw::v2::*;
use suiji::draw::{EntropyValue, Member, Ratio, Stratum};

fn secret(name: &str) -> (String, String) {
    let s = sha256_hex(format!("secret of {name}").as_bytes());
    let c = sha256_hex(&hex::decode(&s).unwrap());
    (s, c)
}

fn main() {
    let regions = ["东城", "西城", "朝阳"];
    let strata: Vec<Stratum> = [
        ("A-定点医院", 6usize, 1u64, 2u64),
        ("B-定点药店", 10, 3, 10),
    ]
    .iter()
    .enumerate()
    .map(|(si, (id, n, num, den))| Stratum {
        id: (*id).to_owned(),
        ratio: Ratio {
            num: *num,
            den: *den,
        },
        min: 1,
        max: None,
        members: (1..=*n)
            .map(|k| Member {
                id: format!("R{}{k:02}", si + 1),
                region: Some(regions[(k + si) % 3].to_owned()),
            })
            .collect(),
    })
    .collect();
    let dept = |code: &str, min: u64, max: u64, regions: &[&str]| Department2 {
        code: code.to_owned(),
        team_size: min,
        team_size_max: Some(max),
        inspectors: regions
            .iter()
            .enumerate()
            .map(|(i, r)| Inspector2 {
                id: format!("{code}-{:02}", i + 1),
                region: Some((*r).to_owned()),
            })
            .collect(),
    };
    let departments = vec![
        dept(
            "health",
            1,
            2,
            &[
                "东城", "西城", "朝阳", "东城", "西城", "朝阳", "东城", "西城",
            ],
        ),
        dept("market", 1, 3, &["西城", "朝阳", "东城", "西城"]),
        dept(
            "medins",
            1,
            2,
            &["东城", "东城", "东城", "东城", "东城", "西城"],
        ),
    ];
    // A few declared conflicts (回避), one leaf per pool institution.
    let leaves: Vec<ConflictLeaf> = strata
        .iter()
        .flat_map(|s| &s.members)
        .map(|m| ConflictLeaf {
            institution: m.id.clone(),
            inspectors: match m.id.as_str() {
                "R102" => vec!["health-02".into(), "medins-01".into()],
                "R205" => vec!["market-04".into()],
                "R207" => vec!["health-05".into()],
                _ => Vec::new(),
            },
        })
        .collect();
    let plan = ["health", "market", "medins"];
    let snapshot = Snapshot2 {
        spec: SPEC2.to_owned(),
        task_id: "T2-10-team-range".to_owned(),
        lead_department: Some("medins".to_owned()),
        cross_region: true,
        max_assignments_per_inspector: Some(3),
        reveal_deadline: 1_700_000_000,
        strata,
        departments,
        conflicts_root: conflicts_root(&leaves),
        exclusions: Vec::new(),
        entropy_plan: plan
            .iter()
            .map(|p| PlanEntry2 {
                source: format!("department:{p}"),
                commitment: Some(secret(p).1),
                round: None,
                note: Some(format!("{p} 的承诺")),
            })
            .collect(),
        records: None,
    };
    let entropy = Entropy2 {
        reveals: plan
            .iter()
            .map(|p| EntropyValue {
                source: format!("department:{p}"),
                value: secret(p).0,
            })
            .collect(),
        forfeited: Vec::new(),
        beacon: None,
    };
    let result = draw2(&snapshot, &leaves, &entropy).expect("draw");
    let bundle = auditor_bundle(snapshot, leaves, entropy, result, Vec::new());
    verify2(&bundle).expect("the vector verifies");
    for s in &bundle.result.selections {
        let sizes: Vec<String> = s
            .team
            .iter()
            .map(|t| format!("{} {}", t.department, t.inspectors.join(",")))
            .collect();
        println!("{} {}: {}", s.order, s.institution, sizes.join(" | "));
    }
    let mut out = serde_json::to_string_pretty(&bundle).unwrap();
    out.push('\n');
    fs::write("tests/vectors/10-v2-team-range.json", out).unwrap();

    // Its tampered twin: the first selection's extra health member swapped for another
    // inspector, the result hash and head recomputed so only the team check can catch it.
    // tests/browser_verify.rs expects the browser verifier to fail it at `team`.
    let mut t = bundle.clone();
    let team = &mut t.result.selections[0].team[0];
    assert_eq!(team.department, "health");
    let extra = team.inspectors.pop().expect("an extra member");
    team.inspectors.push(if extra == "health-04" {
        "health-05".into()
    } else {
        "health-04".into()
    });
    t.result_hash = result_hash2(&t.result);
    t.replacements_head = t.result_hash.clone();
    assert_eq!(verify2(&t).unwrap_err().step, Step::Team);
    let mut out = serde_json::to_string_pretty(&t).unwrap();
    out.push('\n');
    fs::write("tests/vectors/tampered/10-v2-team-range.json", out).unwrap();
}
