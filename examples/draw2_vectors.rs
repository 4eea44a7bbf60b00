//! Writes the suiji-draw/2 vectors and the tampered twins of every vector into
//! `tests/vectors/` (run from the repository root):
//!
//! ```text
//! cargo run --example draw2_vectors
//! ```
//!
//! Deterministic: the same files every run. The beacon is the real quicknet round 657413.
//! `tests/vectors/tampered/expected.json` lists, for each tampered twin, the step that
//! must fail and a piece of the reason; `tests/draw.rs` and the browser test assert both.

use std::collections::BTreeMap;
use std::fs;

use serde_json::{Value, json};
use suiji::draw::merkle::ConflictLeaf;
use suiji::draw::v2::*;
use suiji::draw::{EntropyValue, Member, Ratio, ReplacementRequest, Stratum, quicknet};

const ROUND: u64 = 657413;
const SIG: &str = "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b";
/// A real signature of another round (123): valid hex, valid point, wrong round.
const OTHER_SIG: &str = "b75c69d0b72a5d906e854e808ba7e2accb1542ac355ae486d591aa9d43765482e26cd02df835d3546d23c4b13e0dfc92";
const DIR: &str = "tests/vectors";

struct Lcg(u64);
impl Lcg {
    fn next(&mut self, m: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % m
    }
}

fn secret(name: &str) -> (String, String) {
    let s = sha256_hex(format!("secret of {name}").as_bytes());
    let c = sha256_hex(&hex::decode(&s).unwrap());
    (s, c)
}

struct Pool {
    snapshot: Snapshot2,
    leaves: Vec<ConflictLeaf>,
}

/// A pool of `n` institutions in three strata, `depts` departments of 8 inspectors.
fn pool(
    task: &str,
    n: usize,
    depts: &[(&str, u64)],
    plan: &[&str],
    beacon: bool,
    skip: &[String],
) -> Pool {
    let mut rng = Lcg(n as u64 * 7919 + depts.len() as u64);
    let regions = ["东城", "西城", "朝阳", "海淀"];
    let mut strata: Vec<Stratum> = ["A-三级医院", "B-二级医院", "C-定点药店"]
        .iter()
        .enumerate()
        .map(|(i, id)| Stratum {
            id: (*id).to_owned(),
            ratio: Ratio {
                num: [1, 1, 1][i],
                den: [3, 4, 5][i],
            },
            min: 1,
            max: None,
            members: Vec::new(),
        })
        .collect();
    for k in 0..n {
        let id = format!("P{:03}", k + 1);
        if skip.contains(&id) {
            continue;
        }
        let region = Some(regions[rng.next(4) as usize].to_owned());
        strata[k % 3].members.push(Member { id, region });
    }
    let mut departments: Vec<Department2> = depts
        .iter()
        .map(|(code, size)| Department2 {
            code: (*code).to_owned(),
            team_size: *size,
            team_size_max: None,
            inspectors: (1..=8)
                .map(|i| Inspector2 {
                    id: format!("{code}-{i:02}"),
                    region: Some(regions[(i as usize) % 4].to_owned()),
                })
                .collect(),
        })
        .collect();
    departments.sort_by(|a, b| a.code.cmp(&b.code));
    let mut leaves = Vec::new();
    for s in &strata {
        for m in &s.members {
            let mut ins: Vec<String> = Vec::new();
            for d in &departments {
                if rng.next(4) == 0 {
                    ins.push(d.inspectors[rng.next(8) as usize].id.clone());
                }
            }
            ins.sort();
            ins.dedup();
            leaves.push(ConflictLeaf {
                institution: m.id.clone(),
                inspectors: ins,
            });
        }
    }
    let deadline = quicknet::round_time(ROUND).unwrap() - 600;
    let mut entropy_plan: Vec<PlanEntry2> = plan
        .iter()
        .map(|p| PlanEntry2 {
            source: format!("department:{p}"),
            commitment: Some(secret(p).1),
            round: None,
            note: Some(format!("{p} 的承诺")),
        })
        .collect();
    if beacon {
        entropy_plan.push(PlanEntry2 {
            source: quicknet::SOURCE.to_owned(),
            commitment: None,
            round: Some(ROUND),
            note: Some("drand quicknet 第 657413 轮".into()),
        });
    }
    entropy_plan.sort_by(|a, b| a.source.cmp(&b.source));
    let snapshot = Snapshot2 {
        spec: SPEC2.to_owned(),
        task_id: task.to_owned(),
        lead_department: depts.first().map(|d| d.0.to_owned()),
        cross_region: true,
        max_assignments_per_inspector: None,
        reveal_deadline: deadline,
        strata,
        departments,
        conflicts_root: conflicts_root(&leaves),
        exclusions: Vec::new(),
        entropy_plan,
        records: None,
    };
    Pool { snapshot, leaves }
}

fn entropy(plan: &[&str], forfeited: &[&str], beacon: bool) -> Entropy2 {
    Entropy2 {
        reveals: plan
            .iter()
            .filter(|p| !forfeited.contains(p))
            .map(|p| EntropyValue {
                source: format!("department:{p}"),
                value: secret(p).0,
            })
            .collect(),
        forfeited: forfeited
            .iter()
            .map(|p| format!("department:{p}"))
            .collect(),
        beacon: beacon.then(|| Beacon {
            round: ROUND,
            signature: SIG.to_owned(),
        }),
    }
}

fn make(p: Pool, e: Entropy2) -> Bundle2 {
    let result = draw2(&p.snapshot, &p.leaves, &e).expect("draw");
    auditor_bundle(p.snapshot, p.leaves, e, result, Vec::new())
}

fn write(name: &str, v: &Value) {
    let mut s = serde_json::to_string_pretty(v).unwrap();
    s.push('\n');
    fs::write(format!("{DIR}/{name}"), s).unwrap();
}

fn main() {
    fs::create_dir_all(format!("{DIR}/tampered")).unwrap();
    let depts = [("medins", 2), ("health", 1), ("market", 1)];
    let plan = ["health", "market", "medins"];
    let mut expected: BTreeMap<String, Value> = BTreeMap::new();
    let mut twin = |name: &str, v: Value, step: &str, reason: &str, previous: Option<&str>| {
        write(&format!("tampered/{name}"), &v);
        expected.insert(
            name.to_owned(),
            json!({"step": step, "reason": reason, "previous": previous}),
        );
    };

    // 04: joint draw with the beacon.
    let b04 = make(
        pool("T2-04-joint", 60, &depts, &plan, true, &[]),
        entropy(&plan, &[], true),
    );
    verify2(&b04).unwrap();
    let v04 = serde_json::to_value(&b04).unwrap();
    write("04-v2-joint-beacon.json", &v04);
    let mut t = v04.clone();
    t["beacon"]["signature"] = json!(OTHER_SIG);
    twin(
        "04-v2-joint-beacon.json",
        t,
        "beacon",
        "does not verify",
        None,
    );

    // 05: a forfeited department.
    let b05 = make(
        pool("T2-05-forfeit", 45, &depts, &plan, true, &[]),
        entropy(&plan, &["market"], true),
    );
    verify2(&b05).unwrap();
    let v05 = serde_json::to_value(&b05).unwrap();
    write("05-v2-forfeit.json", &v05);
    // Withholding a second reveal afterwards changes the seed.
    let mut t = v05.clone();
    t["entropy"] = json!([v05["entropy"][1].clone()]);
    t["forfeited"] = json!(["department:health", "department:market"]);
    twin("05-v2-forfeit.json", t, "seed", "expected", None);

    // 06: a chain of five replacements.
    let p06 = pool("T2-06-replacements", 30, &depts, &plan, true, &[]);
    let (snap06, leaves06) = (p06.snapshot.clone(), p06.leaves.clone());
    let e06 = entropy(&plan, &[], true);
    let r06 = draw2(&snap06, &leaves06, &e06).unwrap();
    let mut recs: Vec<Replacement2> = Vec::new();
    let reasons = [
        "临时回避：近亲属任职",
        "病假",
        "出差",
        "新申报利益冲突",
        "借调",
    ];
    for (k, reason) in reasons.iter().enumerate() {
        let sel = &r06.selections[k % r06.selections.len()];
        let team = &sel.team[k % sel.team.len()];
        let current = {
            // the current team after earlier records
            let mut t = team.inspectors.clone();
            for r in &recs {
                if r.institution == sel.institution && r.department == team.department {
                    let pos = t.iter().position(|x| *x == r.out).unwrap();
                    t[pos] = r.r#in.clone();
                }
            }
            t
        };
        let req = ReplacementRequest {
            seq: k as u64 + 1,
            institution: sel.institution.clone(),
            department: team.department.clone(),
            out: current[0].clone(),
            reason: (*reason).to_owned(),
        };
        recs.push(replace2(&snap06, &leaves06, &r06, &recs, &req).unwrap());
    }
    let b06 = auditor_bundle(snap06, leaves06, e06, r06, recs);
    verify2(&b06).unwrap();
    let v06 = serde_json::to_value(&b06).unwrap();
    write("06-v2-replacements.json", &v06);
    let mut t = v06.clone();
    t["replacements"][2]["reason"] = json!("个人原因");
    twin("06-v2-replacements.json", t, "replacement", "seq 3", None);
    let mut t = v06.clone();
    t["replacements"].as_array_mut().unwrap().pop();
    twin(
        "06-v2-replacements.dropped.json",
        t,
        "replacement",
        "replacements_head",
        None,
    );

    // 07: a sample without teams.
    let b07 = make(
        pool("T2-07-sample", 50, &[], &["audit"], true, &[]),
        entropy(&["audit"], &[], true),
    );
    verify2(&b07).unwrap();
    let v07 = serde_json::to_value(&b07).unwrap();
    write("07-v2-sample-no-teams.json", &v07);
    let mut t = v07.clone();
    t["result"]["selections"][1]["institution"] = json!("P049");
    twin(
        "07-v2-sample-no-teams.json",
        t,
        "selection",
        "selection 2",
        None,
    );

    // 08: a round with exclusions; its previous bundle is 04.
    let drawn04: Vec<String> = {
        let mut v: Vec<String> = b04
            .result
            .selections
            .iter()
            .map(|s| s.institution.clone())
            .collect();
        v.sort();
        v
    };
    let mut p08 = pool("T2-08-second-round", 60, &depts, &plan, true, &drawn04);
    p08.snapshot.exclusions = vec![Exclusion {
        task: b04.snapshot.task_id.clone(),
        result_hash: b04.result_hash.clone(),
        institutions: drawn04.clone(),
        basis: None,
    }];
    let b08 = make(p08, entropy(&plan, &[], true));
    verify2(&b08).unwrap();
    let v08 = serde_json::to_value(&b08).unwrap();
    write("08-v2-exclusions.json", &v08);
    // Consistent on its own, but its exclusion leaves out one institution 04 drew.
    let mut short = drawn04.clone();
    let kept = short.remove(0);
    let mut p08t = pool("T2-08-second-round", 60, &depts, &plan, true, &short);
    p08t.snapshot.exclusions = vec![Exclusion {
        task: b04.snapshot.task_id.clone(),
        result_hash: b04.result_hash.clone(),
        institutions: short,
        basis: None,
    }];
    let b08t = make(p08t, entropy(&plan, &[], true));
    verify2(&b08t).unwrap();
    twin(
        "08-v2-exclusions.json",
        serde_json::to_value(&b08t).unwrap(),
        "exclusion",
        &kept,
        Some("04-v2-joint-beacon.json"),
    );

    // 09: the public bundle of 06 (Merkle branches for the drawn institutions only).
    let b09 = public_bundle(&b06).unwrap();
    verify2(&b09).unwrap();
    let v09 = serde_json::to_value(&b09).unwrap();
    write("09-v2-public.json", &v09);
    let mut t = v09.clone();
    let proofs = t["conflicts"]["proofs"].as_array_mut().unwrap();
    let victim = proofs
        .iter_mut()
        .find(|p| !p["inspectors"].as_array().unwrap().is_empty())
        .unwrap();
    victim["inspectors"] = json!([]);
    twin(
        "09-v2-public.json",
        t,
        "conflicts",
        "does not lead to the conflicts_root",
        None,
    );

    // Tampered twins of the /1 vectors.
    for (name, step, reason) in [
        ("01-joint-5-percent.json", "team", "selection 2"),
        ("02-edge-cases.json", "pool_hash", "pool_hash"),
        ("03-random-3000.json", "result_hash", "result_hash"),
    ] {
        let mut v: Value =
            serde_json::from_str(&fs::read_to_string(format!("{DIR}/{name}")).unwrap()).unwrap();
        match step {
            "team" => {
                let t = &mut v["result"]["selections"][1]["team"][0]["inspectors"];
                let a = t[0].clone();
                let last = t.as_array().unwrap().len() - 1;
                t[0] = t[last].clone();
                t[last] = a;
                if t.as_array().unwrap().len() == 1 {
                    v["result"]["selections"][1]["team"][0]["inspectors"][0] = json!("nobody");
                }
            }
            "pool_hash" => {
                v["snapshot"]["task_id"] = json!(format!(
                    "{}-changed",
                    v["snapshot"]["task_id"].as_str().unwrap()
                ));
            }
            _ => v["result_hash"] = json!("0".repeat(64)),
        }
        twin(name, v, step, reason, None);
    }
    write(
        "tampered/expected.json",
        &serde_json::to_value(&expected).unwrap(),
    );
    println!(
        "wrote the /2 vectors and {} tampered twins to {DIR}",
        expected.len()
    );
}
