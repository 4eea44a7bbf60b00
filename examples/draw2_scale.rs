//! Writes a large suiji-draw/2 bundle (auditor's and public) to measure verifiers:
//!
//! ```text
//! cargo run --example draw2_scale -- 10000 /tmp/b10k      # writes /tmp/b10k.auditor.json, /tmp/b10k.public.json
//! ```
//!
//! N institutions in 3 strata at 5 %, three departments of max(60, N/50) inspectors with
//! 0–3 conflicts each, 20 regions, cross-region rule on, beacon = quicknet round 657413.

use suiji::draw::merkle::ConflictLeaf;
use suiji::draw::v2::*;
use suiji::draw::{EntropyValue, Member, Ratio, Stratum, quicknet};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let out = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| format!("/tmp/draw2-{n}"));
    let mut x: u64 = 42;
    let mut rnd = |m: u64| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) % m
    };
    let region = |r: u64| format!("R{r:02}");
    let mut strata: Vec<Stratum> = (0..3)
        .map(|i| Stratum {
            id: format!("S{i}"),
            ratio: Ratio { num: 1, den: 20 },
            min: 1,
            max: None,
            members: Vec::new(),
        })
        .collect();
    for k in 0..n {
        strata[k % 3].members.push(Member {
            id: format!("I{k:08}"),
            region: Some(region(rnd(20))),
        });
    }
    let per = (n / 50).max(60);
    let codes = ["health", "market", "medins"];
    let departments: Vec<Department2> = codes
        .iter()
        .map(|c| Department2 {
            code: (*c).to_owned(),
            team_size: if *c == "medins" { 2 } else { 1 },
            team_size_max: None,
            inspectors: (0..per)
                .map(|i| Inspector2 {
                    id: format!("{c}-{i:06}"),
                    region: Some(region(rnd(20))),
                })
                .collect(),
        })
        .collect();
    let mut conflicts: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for d in &departments {
        for i in &d.inspectors {
            for _ in 0..rnd(4) {
                let inst = format!("I{:08}", rnd(n as u64));
                conflicts.entry(inst).or_default().push(i.id.clone());
            }
        }
    }
    let leaves: Vec<ConflictLeaf> = strata
        .iter()
        .flat_map(|s| s.members.iter())
        .map(|m| {
            let mut ins = conflicts.get(&m.id).cloned().unwrap_or_default();
            ins.sort();
            ins.dedup();
            ConflictLeaf {
                institution: m.id.clone(),
                inspectors: ins,
            }
        })
        .collect();
    let secret = |c: &str| sha256_hex(format!("secret {c}").as_bytes());
    let mut plan: Vec<PlanEntry2> = codes
        .iter()
        .map(|c| PlanEntry2 {
            source: format!("department:{c}"),
            commitment: Some(sha256_hex(&hex::decode(secret(c)).unwrap())),
            round: None,
            note: None,
        })
        .collect();
    plan.insert(
        0,
        PlanEntry2 {
            source: quicknet::SOURCE.into(),
            commitment: None,
            round: Some(657413),
            note: None,
        },
    );
    let snapshot = Snapshot2 {
        spec: SPEC2.into(),
        task_id: format!("scale-{n}"),
        lead_department: Some("medins".into()),
        cross_region: true,
        max_assignments_per_inspector: None,
        reveal_deadline: quicknet::round_time(657413).unwrap() - 600,
        strata,
        departments,
        conflicts_root: conflicts_root(&leaves),
        exclusions: vec![],
        entropy_plan: plan,
        records: None,
    };
    let entropy = Entropy2 {
        reveals: codes
            .iter()
            .map(|c| EntropyValue { source: format!("department:{c}"), value: secret(c) })
            .collect(),
        forfeited: vec![],
        beacon: Some(Beacon {
            round: 657413,
            signature: "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b".into(),
        }),
    };
    let result = draw2(&snapshot, &leaves, &entropy).expect("draw");
    let auditor = auditor_bundle(snapshot, leaves, entropy, result, vec![]);
    let public = public_bundle(&auditor).unwrap();
    std::fs::write(
        format!("{out}.auditor.json"),
        serde_json::to_vec(&auditor).unwrap(),
    )
    .unwrap();
    std::fs::write(
        format!("{out}.public.json"),
        serde_json::to_vec(&public).unwrap(),
    )
    .unwrap();
    println!(
        "{n} institutions, {} selections: {out}.auditor.json, {out}.public.json",
        auditor.result.selections.len()
    );
}
