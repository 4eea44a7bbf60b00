//! Synthetic snapshots for the scale benchmark (shared by `benches/draw.rs` and
//! `examples/draw_scale.rs`): N institutions in 3 strata at 5 %, three departments of
//! 3,000 inspectors each with sparse conflicts, 20 regions, the cross-region rule on.

use suiji::draw::{
    Department, EntropyPlanEntry, EntropyValue, Inspector, Member, Ratio, Snapshot, Stratum,
};

/// splitmix64: a tiny deterministic generator for test data only (not for the draw).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

const STRATA: [&str; 3] = ["clinic", "hospital", "pharmacy"];
const DEPTS: [(&str, u64); 3] = [
    ("health", 1),
    ("market_regulation", 1),
    ("medical_insurance", 2),
];

/// Institution id of number `i`.
pub fn institution(i: usize) -> String {
    format!("INST-{i:08}")
}

/// The snapshot and its entropy (one beacon, one committed department secret).
pub fn snapshot(n: usize) -> (Snapshot, Vec<EntropyValue>) {
    let mut g = Gen(42);
    let mut members: Vec<Vec<Member>> = (0..3).map(|_| Vec::with_capacity(n / 3 + 1)).collect();
    for i in 0..n {
        let s = (g.next() % 3) as usize;
        members[s].push(Member {
            id: institution(i),
            region: Some(format!("r{:02}", g.next() % 20)),
        });
    }
    let strata = STRATA
        .iter()
        .zip(members)
        .map(|(id, members)| Stratum {
            id: (*id).to_owned(),
            ratio: Ratio { num: 5, den: 100 },
            min: 1,
            max: None,
            members,
        })
        .collect();
    let departments = DEPTS
        .iter()
        .map(|(code, team_size)| Department {
            code: (*code).to_owned(),
            team_size: *team_size,
            inspectors: (0..3000)
                .map(|i| {
                    let k = (g.next() % 4) as usize; // 0–3 conflicts
                    let mut conflicts: Vec<String> = (0..k)
                        .map(|_| institution((g.next() % n.max(1) as u64) as usize))
                        .collect();
                    conflicts.sort();
                    conflicts.dedup();
                    Inspector {
                        id: format!("{}-{i:05}", &code[..3]),
                        region: if i % 10 == 0 {
                            None
                        } else {
                            Some(format!("r{:02}", g.next() % 20))
                        },
                        conflicts,
                    }
                })
                .collect(),
        })
        .collect();
    let secret = [7u8; 32];
    let commitment = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(secret))
    };
    let snapshot = Snapshot {
        spec: "suiji-draw/1".into(),
        task_id: format!("scale-{n}"),
        lead_department: "medical_insurance".into(),
        cross_region: true,
        max_assignments_per_inspector: None,
        strata,
        departments,
        entropy_plan: vec![
            EntropyPlanEntry {
                source: "beacon:drand".into(),
                commitment: None,
                note: Some("round 1".into()),
            },
            EntropyPlanEntry {
                source: "department:medical_insurance".into(),
                commitment: Some(commitment),
                note: None,
            },
        ],
    };
    let entropy = vec![
        EntropyValue {
            source: "beacon:drand".into(),
            value: "ab".repeat(32),
        },
        EntropyValue {
            source: "department:medical_insurance".into(),
            value: hex::encode(secret),
        },
    ];
    (snapshot, entropy)
}
