//! Property tests of the draw engine against a literal, slow implementation of
//! suiji-draw/1 §3–7 written independently below (plain lists, `rand_chacha` and `sha2`
//! directly), plus the invariants the spec promises; and the suiji-draw/2 engine against a
//! literal reading of part B (seed, conflicts tree, samples without teams).

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use suiji::draw::merkle::ConflictLeaf;
use suiji::draw::v2;
use suiji::draw::{
    self, Department, DrawResult, EntropyPlanEntry, EntropyValue, Inspector, Member, Ratio,
    Snapshot, Stratum,
};

// ---------- the literal reference ----------

mod reference {
    use super::*;

    pub struct Rngx(ChaCha20Rng);
    impl Rngx {
        pub fn new(key: [u8; 32]) -> Self {
            Rngx(ChaCha20Rng::from_seed(key))
        }
        pub fn uniform(&mut self, m: u64) -> u64 {
            let t = ((1u128 << 64) % u128::from(m)) as u64;
            loop {
                let r = self.0.next_u64();
                if r >= t {
                    return r % m;
                }
            }
        }
    }

    pub fn pick<T: Clone>(rng: &mut Rngx, list: &[T], k: usize) -> Vec<T> {
        let mut a = list.to_vec();
        let n = a.len();
        for i in 0..k {
            let j = i + rng.uniform((n - i) as u64) as usize;
            a.swap(i, j);
        }
        a[..k].to_vec()
    }

    pub fn derive(seed: &[u8], label: &str, parts: &[&str]) -> [u8; 32] {
        let mut bytes = seed.to_vec();
        bytes.extend_from_slice(label.as_bytes());
        for p in parts {
            bytes.push(0);
            bytes.extend_from_slice(p.as_bytes());
        }
        Sha256::digest(&bytes).into()
    }

    pub fn eligible<'a>(s: &'a Snapshot, d: &'a Department, x: &Member) -> Vec<&'a Inspector> {
        d.inspectors
            .iter()
            .filter(|i| {
                let same_region = s.cross_region && i.region.is_some() && i.region == x.region;
                !same_region && !i.conflicts.contains(&x.id)
            })
            .collect()
    }

    /// Result plus, per department, whether the soft cap ever had to be ignored.
    pub fn draw(s: &Snapshot, entropy: &[EntropyValue]) -> (DrawResult, Vec<bool>) {
        let snap_value = serde_json::to_value(s).unwrap();
        let pool_hash = hex::encode(Sha256::digest(draw::canonical_json(&snap_value).unwrap()));
        let mut ent: Vec<_> = entropy.to_vec();
        ent.sort_by(|a, b| a.source.cmp(&b.source));
        let seed_doc = serde_json::json!({
            "spec": "suiji-draw/1", "pool_hash": pool_hash,
            "entropy": ent.iter().map(|e| serde_json::json!({"value": e.value, "source": e.source})).collect::<Vec<_>>(),
        });
        let seed: [u8; 32] = Sha256::digest(draw::canonical_json(&seed_doc).unwrap()).into();
        draw_from(s, seed, pool_hash)
    }

    /// Institutions only (suiji-draw/2 B.5 without departments).
    pub fn chosen(s: &Snapshot, seed: &[u8; 32]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for st in &s.strata {
            let n = st.members.len() as u128;
            let mut k = (n * u128::from(st.ratio.num)).div_ceil(u128::from(st.ratio.den));
            if let Some(max) = st.max {
                k = k.min(u128::from(max));
            }
            k = k.max(u128::from(st.min)).min(n);
            let mut rng = Rngx::new(derive(seed, "stratum", &[&st.id]));
            for m in pick(&mut rng, &st.members, k as usize) {
                out.push((st.id.clone(), m.id.clone()));
            }
        }
        out
    }

    /// The draw for a given seed and pool hash.
    pub fn draw_from(s: &Snapshot, seed: [u8; 32], pool_hash: String) -> (DrawResult, Vec<bool>) {
        let mut chosen: Vec<(&Stratum, &Member)> = Vec::new();
        for st in &s.strata {
            let n = st.members.len() as u128;
            let mut k = (n * u128::from(st.ratio.num)).div_ceil(u128::from(st.ratio.den));
            if let Some(max) = st.max {
                k = k.min(u128::from(max));
            }
            k = k.max(u128::from(st.min)).min(n);
            let mut rng = Rngx::new(derive(&seed, "stratum", &[&st.id]));
            for m in pick(&mut rng, &st.members, k as usize) {
                chosen.push((st, st.members.iter().find(|x| x.id == m.id).unwrap()));
            }
        }
        let total = chosen.len() as u128;
        let caps: Vec<u64> = s
            .departments
            .iter()
            .map(|d| {
                s.max_assignments_per_inspector.unwrap_or_else(|| {
                    (total * u128::from(d.team_size)).div_ceil(d.inspectors.len() as u128) as u64
                })
            })
            .collect();
        let mut load: HashMap<String, u64> = HashMap::new();
        let mut soft = vec![false; s.departments.len()];
        let mut selections = Vec::new();
        for (order, (st, x)) in chosen.into_iter().enumerate() {
            let mut team = Vec::new();
            for (di, d) in s.departments.iter().enumerate() {
                let e = eligible(s, d, x);
                let u: Vec<&Inspector> = e
                    .iter()
                    .copied()
                    .filter(|i| load.get(&i.id).copied().unwrap_or(0) < caps[di])
                    .collect();
                let ts = d.team_size as usize;
                let c = if u.len() >= ts {
                    u
                } else {
                    soft[di] = true;
                    e
                };
                let mut rng = Rngx::new(derive(&seed, "team", &[&x.id, &d.code]));
                let t: Vec<String> = pick(&mut rng, &c, ts)
                    .iter()
                    .map(|i| i.id.clone())
                    .collect();
                for i in &t {
                    *load.entry(i.clone()).or_default() += 1;
                }
                team.push(draw::Team {
                    department: d.code.clone(),
                    inspectors: t,
                });
            }
            let lead = s
                .departments
                .iter()
                .position(|d| d.code == s.lead_department)
                .unwrap();
            selections.push(draw::Selection {
                order: order as u64 + 1,
                stratum: st.id.clone(),
                institution: x.id.clone(),
                leader: Some(team[lead].inspectors[0].clone()),
                team,
            });
        }
        (
            DrawResult {
                spec: "suiji-draw/1".into(),
                pool_hash,
                seed: hex::encode(seed),
                selections,
            },
            soft,
        )
    }
}

// ---------- generators ----------

const REGIONS: [Option<&str>; 5] = [None, Some("east"), Some("west"), Some("north"), Some("南")];

/// num, den, min, max, member regions (indices into `REGIONS`).
type StratumParams = (u64, u64, u64, Option<u64>, Vec<usize>);
/// team_size, inspectors as (region index, conflicting member numbers).
type DeptParams = (u64, Vec<(usize, Vec<usize>)>);

#[derive(Debug, Clone)]
struct Params {
    strata: Vec<StratumParams>,
    depts: Vec<DeptParams>,
    cross_region: bool,
    cap: Option<u64>,
    beacon: [u8; 8],
    lead: usize,
}

fn params() -> impl Strategy<Value = Params> {
    params_sized(1..14, 0..25)
}

fn params_sized(
    inspectors: std::ops::Range<usize>,
    members: std::ops::Range<usize>,
) -> impl Strategy<Value = Params> {
    let stratum = (
        0u64..4,
        1u64..6,
        0u64..3,
        prop::option::of(0u64..6),
        prop::collection::vec(0usize..5, members),
    );
    let inspector = (0usize..5, prop::collection::vec(0usize..60, 0..3));
    let dept = (1u64..4, prop::collection::vec(inspector, inspectors));
    (
        prop::collection::vec(stratum, 1..4),
        prop::collection::vec(dept, 1..4),
        any::<bool>(),
        prop::option::of(0u64..5),
        any::<[u8; 8]>(),
        0usize..3,
    )
        .prop_map(|(strata, depts, cross_region, cap, beacon, lead)| Params {
            strata,
            depts,
            cross_region,
            cap,
            beacon,
            lead,
        })
}

fn member_id(global: usize) -> String {
    format!("M{global:05}")
}

fn build(p: &Params) -> (Snapshot, Vec<EntropyValue>) {
    let mut next = 0usize;
    let strata = p
        .strata
        .iter()
        .enumerate()
        .map(|(si, (num, den, min, max, regions))| Stratum {
            id: format!("s{si}"),
            ratio: Ratio {
                num: *num,
                den: *den,
            },
            min: *min,
            max: *max,
            members: regions
                .iter()
                .map(|r| {
                    next += 1;
                    Member {
                        id: member_id(next),
                        region: REGIONS[*r].map(str::to_owned),
                    }
                })
                .collect(),
        })
        .collect();
    let departments: Vec<Department> = p
        .depts
        .iter()
        .enumerate()
        .map(|(di, (ts, insps))| Department {
            code: format!("d{di}"),
            team_size: *ts,
            inspectors: insps
                .iter()
                .enumerate()
                .map(|(ii, (r, conf))| {
                    let mut conflicts: Vec<String> = conf.iter().map(|c| member_id(*c)).collect();
                    conflicts.sort();
                    conflicts.dedup();
                    Inspector {
                        id: format!("d{di}-i{ii:02}"),
                        region: REGIONS[*r].map(str::to_owned),
                        conflicts,
                    }
                })
                .collect(),
        })
        .collect();
    let lead = departments[p.lead % departments.len()].code.clone();
    let snapshot = Snapshot {
        spec: "suiji-draw/1".into(),
        task_id: "prop".into(),
        lead_department: lead,
        cross_region: p.cross_region,
        max_assignments_per_inspector: p.cap,
        strata,
        departments,
        entropy_plan: vec![EntropyPlanEntry {
            source: "beacon:test".into(),
            commitment: None,
            note: None,
        }],
    };
    let entropy = vec![EntropyValue {
        source: "beacon:test".into(),
        value: hex::encode(p.beacon),
    }];
    (snapshot, entropy)
}

/// A feasible snapshot (infeasible ones are skipped).
fn feasible() -> impl Strategy<Value = (Params, Snapshot, Vec<EntropyValue>)> {
    params()
        .prop_map(|p| {
            let (s, e) = build(&p);
            (p, s, e)
        })
        .prop_filter("infeasible", |(_, s, _)| {
            draw::infeasible_pairs(s).is_empty()
        })
}

fn cap_of(s: &Snapshot, total: usize, d: &Department) -> u64 {
    s.max_assignments_per_inspector
        .unwrap_or_else(|| ((total as u64) * d.team_size).div_ceil(d.inspectors.len() as u64))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, max_global_rejects: 4096, ..ProptestConfig::default() })]

    /// The fast engine equals the literal reading of the spec.
    #[test]
    fn engine_equals_reference((_p, s, e) in feasible()) {
        let got = draw::draw(&s, &e).unwrap();
        let (want, _) = reference::draw(&s, &e);
        prop_assert_eq!(&got, &want);
        // Determinism.
        prop_assert_eq!(got, draw::draw(&s, &e).unwrap());
    }

    /// Same with large departments, so that big same-region groups use their own trees.
    #[test]
    fn engine_equals_reference_large(p in params_sized(40..90, 20..60)) {
        let (s, e) = build(&p);
        prop_assume!(draw::infeasible_pairs(&s).is_empty());
        let got = draw::draw(&s, &e).unwrap();
        let (want, _) = reference::draw(&s, &e);
        prop_assert_eq!(got, want);
    }

    /// Stratum sizes, no institution twice, no inspector twice in a team, conflicts and the
    /// cross-region rule respected, caps respected unless the soft cap had to be used.
    #[test]
    fn invariants((_p, s, e) in feasible()) {
        let r = draw::draw(&s, &e).unwrap();
        let (_, soft) = reference::draw(&s, &e);
        for st in &s.strata {
            let n = st.members.len() as u64;
            let mut k = (n * st.ratio.num).div_ceil(st.ratio.den);
            if let Some(max) = st.max { k = k.min(max); }
            let k = k.max(st.min).min(n);
            let got = r.selections.iter().filter(|x| x.stratum == st.id).count() as u64;
            prop_assert_eq!(got, k, "stratum {}", st.id);
        }
        let mut seen = HashSet::new();
        let members: HashMap<&str, &Member> = s.strata.iter().flat_map(|st| st.members.iter().map(|m| (m.id.as_str(), m))).collect();
        let mut loads: HashMap<&str, u64> = HashMap::new();
        for (i, sel) in r.selections.iter().enumerate() {
            prop_assert_eq!(sel.order, i as u64 + 1);
            prop_assert!(seen.insert(sel.institution.clone()), "institution twice");
            let x = members[sel.institution.as_str()];
            for (t, d) in sel.team.iter().zip(&s.departments) {
                prop_assert_eq!(&t.department, &d.code);
                prop_assert_eq!(t.inspectors.len() as u64, d.team_size);
                let uniq: HashSet<&String> = t.inspectors.iter().collect();
                prop_assert_eq!(uniq.len(), t.inspectors.len(), "inspector twice in a team");
                for id in &t.inspectors {
                    let insp = d.inspectors.iter().find(|i| &i.id == id).unwrap();
                    prop_assert!(!insp.conflicts.contains(&x.id), "conflict ignored");
                    prop_assert!(!(s.cross_region && insp.region.is_some() && insp.region == x.region), "region rule ignored");
                    *loads.entry(id).or_default() += 1;
                }
            }
            let lead = sel.team.iter().find(|t| t.department == s.lead_department).unwrap();
            prop_assert_eq!(sel.leader.as_deref(), Some(lead.inspectors[0].as_str()));
        }
        for (di, d) in s.departments.iter().enumerate() {
            if soft[di] { continue; }
            let cap = cap_of(&s, r.selections.len(), d);
            for i in &d.inspectors {
                prop_assert!(loads.get(i.id.as_str()).copied().unwrap_or(0) <= cap, "cap exceeded");
            }
        }
    }

    /// Without conflicts or regions, the automatic cap is never exceeded.
    #[test]
    fn automatic_cap_holds((p, _, _) in feasible()) {
        let mut p = p;
        p.cross_region = false;
        p.cap = None;
        for d in &mut p.depts { d.0 = 1; for i in &mut d.1 { i.1.clear(); } }
        let (s, e) = build(&p);
        let r = draw::draw(&s, &e).unwrap();
        let mut loads: HashMap<&str, u64> = HashMap::new();
        for sel in &r.selections { for t in &sel.team { for i in &t.inspectors { *loads.entry(i).or_default() += 1; } } }
        for d in &s.departments {
            let cap = cap_of(&s, r.selections.len(), d);
            for i in &d.inspectors { prop_assert!(loads.get(i.id.as_str()).copied().unwrap_or(0) <= cap); }
        }
    }

    /// With the same seed, adding a stratum does not change which institutions another
    /// stratum draws, nor their order. (The seed itself depends on the pool hash, so a real
    /// re-sealed snapshot gets a fresh draw.)
    #[test]
    fn strata_are_independent((p, s, _e) in feasible(), extra in prop::collection::vec(0usize..5, 0..20), seed in any::<[u8; 32]>()) {
        let mut p2 = p.clone();
        p2.strata.push((1, 2, 1, None, extra));
        let (s2, _) = build(&p2);
        prop_assume!(draw::infeasible_pairs(&s2).is_empty());
        let picks = |r: &DrawResult, id: &str| -> Vec<String> {
            r.selections.iter().filter(|x| x.stratum == id).map(|x| x.institution.clone()).collect()
        };
        let a = draw::draw_with_seed(&s, draw::pool_hash(&s), &seed).unwrap();
        let b = draw::draw_with_seed(&s2, draw::pool_hash(&s2), &seed).unwrap();
        for st in &s.strata {
            prop_assert_eq!(picks(&a, &st.id), picks(&b, &st.id));
        }
    }

    /// Replacements: the substitute obeys the rules and equals the literal reading of §7.
    #[test]
    fn replacements_follow_the_rules((_p, s, e) in feasible(), picks in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<prop::sample::Index>()), 1..6)) {
        let r = draw::draw(&s, &e).unwrap();
        prop_assume!(!r.selections.is_empty());
        let mut done: Vec<draw::Replacement> = Vec::new();
        let mut state = draw::ReplayState::new(&s, &r).unwrap();
        let mut gone: HashMap<(String, String), HashSet<String>> = HashMap::new();
        for (a, b, c) in picks {
            let sel = a.get(&r.selections);
            let d = b.get(&s.departments);
            let team = state.team(&sel.institution, &d.code).unwrap().to_vec();
            let out = c.get(&team).clone();
            let req = draw::ReplacementRequest {
                seq: done.len() as u64 + 1,
                institution: sel.institution.clone(),
                department: d.code.clone(),
                out: out.clone(),
                reason: "test".into(),
            };
            let g = gone.entry((sel.institution.clone(), d.code.clone())).or_default();
            g.insert(out.clone());
            match draw::replace(&s, &r, &done, &req) {
                Ok(rep) => {
                    prop_assert!(!team.contains(&rep.r#in));
                    prop_assert!(!g.contains(&rep.r#in));
                    let x = s.strata.iter().flat_map(|st| &st.members).find(|m| m.id == sel.institution).unwrap();
                    let ok: Vec<&Inspector> = reference::eligible(&s, d, x);
                    prop_assert!(ok.iter().any(|i| i.id == rep.r#in));
                    prop_assert_eq!(&state.substitute(&req).unwrap(), &rep.r#in);
                    state.apply(&rep).unwrap();
                    done.push(rep);
                }
                Err(draw::ReplaceError::NoEligibleSubstitute { .. }) => {
                    g.remove(&out);
                    let x = s.strata.iter().flat_map(|st| &st.members).find(|m| m.id == sel.institution).unwrap();
                    let left = reference::eligible(&s, d, x).into_iter().filter(|i| !team.contains(&i.id) && !g.contains(&i.id) && i.id != out).count();
                    prop_assert_eq!(left, 0);
                }
                Err(other) => prop_assert!(false, "{other}"),
            }
        }
        let bundle = draw::bundle(s.clone(), e.clone(), r, done);
        prop_assert!(draw::verify(&bundle).is_ok());
    }

    /// Canonical strings equal serde_json's (same mandatory escapes) and parse back.
    #[test]
    fn canonical_strings(s in any::<String>()) {
        let v = serde_json::Value::String(s.clone());
        let bytes = draw::canonical_json(&v).unwrap();
        prop_assert_eq!(&bytes, &serde_json::to_vec(&s).unwrap());
        let back: String = serde_json::from_slice(&bytes).unwrap();
        prop_assert_eq!(back, s);
    }
}

/// A draw large enough to take the two-thread paths (≥ 4,096 selections) equals the
/// literal reading of the spec.
#[test]
fn large_draw_equals_reference() {
    let p = Params {
        strata: vec![
            (1, 1, 0, None, (0..3000).map(|i| i % 5).collect()),
            (1, 2, 0, None, (0..3000).map(|i| (i * 7) % 5).collect()),
        ],
        depts: (0..3)
            .map(|d| {
                (
                    1 + d as u64 % 2,
                    (0..60)
                        .map(|i| ((i + d) % 5, vec![(i * 13 + d) % 60]))
                        .collect(),
                )
            })
            .collect(),
        cross_region: true,
        cap: None,
        beacon: [9; 8],
        lead: 1,
    };
    let (s, e) = build(&p);
    assert!(draw::infeasible_pairs(&s).is_empty());
    let got = draw::draw(&s, &e).unwrap();
    assert!(got.selections.len() >= 4096);
    let (want, _) = reference::draw(&s, &e);
    assert_eq!(got, want);
}

// ---------- suiji-draw/2 (docs/draw-spec.md part B), read literally ----------

mod reference2 {
    use super::*;
    use serde_json::json;

    /// B.4: the seed from the pool hash, the reveals, the beacon value and the forfeits.
    pub fn seed(
        pool_hash: &str,
        reveals: &[(String, String)],
        beacon_sig: Option<&str>,
        forfeited: &[String],
    ) -> [u8; 32] {
        let mut ent: Vec<(String, String)> = reveals.to_vec();
        if let Some(sig) = beacon_sig {
            ent.push((
                "beacon:drand-quicknet".into(),
                hex::encode(Sha256::digest(hex::decode(sig).unwrap())),
            ));
        }
        ent.sort();
        let doc = json!({
            "spec": "suiji-draw/2", "pool_hash": pool_hash, "forfeited": forfeited,
            "entropy": ent.iter().map(|(s, v)| json!({"source": s, "value": v})).collect::<Vec<_>>(),
        });
        Sha256::digest(draw::canonical_json(&doc).unwrap()).into()
    }

    /// B.6: RFC 9162 root, written recursively from the definition.
    pub fn root(leaves: &[serde_json::Value]) -> [u8; 32] {
        fn mth(h: &[[u8; 32]]) -> [u8; 32] {
            match h.len() {
                0 => Sha256::digest(b"").into(),
                1 => h[0],
                n => {
                    let mut k = 1;
                    while k * 2 < n {
                        k *= 2;
                    }
                    let mut b = vec![1u8];
                    b.extend_from_slice(&mth(&h[..k]));
                    b.extend_from_slice(&mth(&h[k..]));
                    Sha256::digest(&b).into()
                }
            }
        }
        let hashes: Vec<[u8; 32]> = leaves
            .iter()
            .map(|l| {
                let mut b = vec![0u8];
                b.extend(draw::canonical_json(l).unwrap());
                Sha256::digest(&b).into()
            })
            .collect();
        mth(&hashes)
    }
}

const QN_SIG: &str = "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b";

/// The /2 snapshot, leaves and entropy for a /1 property snapshot: the same pool and
/// inspectors, conflicts moved into leaves (inspector ids are unique across departments
/// here, so per-inspector and per-leaf conflicts mean the same), two department sources
/// (the second possibly forfeited) and the real quicknet round 657413.
fn to_v2(
    s: &Snapshot,
    secret: [u8; 32],
    no_teams: bool,
    forfeit: bool,
) -> (v2::Snapshot2, Vec<ConflictLeaf>, v2::Entropy2) {
    let mut leaves = Vec::new();
    for st in &s.strata {
        for m in &st.members {
            let mut ins: Vec<String> = s
                .departments
                .iter()
                .flat_map(|d| d.inspectors.iter())
                .filter(|i| i.conflicts.contains(&m.id))
                .map(|i| i.id.clone())
                .collect();
            ins.sort();
            ins.dedup();
            leaves.push(ConflictLeaf {
                institution: m.id.clone(),
                inspectors: ins,
            });
        }
    }
    let secrets = [secret, Sha256::digest(secret).into()];
    let plan: Vec<v2::PlanEntry2> = ["a", "b"]
        .iter()
        .zip(secrets)
        .map(|(c, s)| v2::PlanEntry2 {
            source: format!("department:{c}"),
            commitment: Some(hex::encode(Sha256::digest(s))),
            round: None,
            note: None,
        })
        .chain([v2::PlanEntry2 {
            source: "beacon:drand-quicknet".into(),
            commitment: None,
            round: Some(657413),
            note: None,
        }])
        .collect::<Vec<_>>();
    let mut plan = plan;
    plan.sort_by(|a, b| a.source.cmp(&b.source));
    let departments = if no_teams {
        vec![]
    } else {
        s.departments
            .iter()
            .map(|d| v2::Department2 {
                code: d.code.clone(),
                team_size: d.team_size,
                team_size_max: None,
                inspectors: d
                    .inspectors
                    .iter()
                    .map(|i| v2::Inspector2 {
                        id: i.id.clone(),
                        region: i.region.clone(),
                    })
                    .collect(),
            })
            .collect()
    };
    let snap = v2::Snapshot2 {
        spec: v2::SPEC2.into(),
        task_id: s.task_id.clone(),
        lead_department: (!no_teams).then(|| s.lead_department.clone()),
        cross_region: s.cross_region,
        max_assignments_per_inspector: s.max_assignments_per_inspector,
        reveal_deadline: draw::quicknet::round_time(657413).unwrap() - 1,
        strata: s.strata.clone(),
        departments,
        conflicts_root: v2::conflicts_root(&leaves),
        exclusions: vec![],
        entropy_plan: plan,
        records: None,
    };
    let mut reveals = vec![EntropyValue {
        source: "department:a".into(),
        value: hex::encode(secrets[0]),
    }];
    let mut forfeited = vec![];
    if forfeit {
        forfeited.push("department:b".to_owned());
    } else {
        reveals.push(EntropyValue {
            source: "department:b".into(),
            value: hex::encode(secrets[1]),
        });
    }
    let e = v2::Entropy2 {
        reveals,
        forfeited,
        beacon: Some(v2::Beacon {
            round: 657413,
            signature: QN_SIG.into(),
        }),
    };
    (snap, leaves, e)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, max_global_rejects: 4096, ..ProptestConfig::default() })]

    /// The /2 engine equals a literal reading of part B (seed with forfeits and the beacon
    /// value, conflicts from leaves, samples without teams), and both its bundles verify.
    #[test]
    fn v2_engine_equals_reference((p, s, _e) in feasible(), no_teams in any::<bool>(), forfeit in any::<bool>()) {
        let secret: [u8; 32] = Sha256::digest(p.beacon).into();
        let (snap, leaves, e) = to_v2(&s, secret, no_teams, forfeit);
        let got = v2::draw2(&snap, &leaves, &e).unwrap();

        let pool_hash = hex::encode(Sha256::digest(draw::canonical_json(&serde_json::to_value(&snap).unwrap()).unwrap()));
        prop_assert_eq!(&got.pool_hash, &pool_hash);
        let leaf_values: Vec<serde_json::Value> = leaves.iter().map(|l| serde_json::to_value(l).unwrap()).collect();
        prop_assert_eq!(hex::encode(reference2::root(&leaf_values)), snap.conflicts_root.clone());
        let reveals: Vec<(String, String)> = e.reveals.iter().map(|r| (r.source.clone(), r.value.clone())).collect();
        let seed = reference2::seed(&pool_hash, &reveals, Some(QN_SIG), &e.forfeited);
        prop_assert_eq!(&got.seed, &hex::encode(seed));
        if no_teams {
            let want = reference::chosen(&s, &seed);
            prop_assert_eq!(got.selections.len(), want.len());
            for (g, (st, id)) in got.selections.iter().zip(&want) {
                prop_assert_eq!(&g.stratum, st);
                prop_assert_eq!(&g.institution, id);
                prop_assert!(g.leader.is_none() && g.team.is_empty());
            }
        } else {
            let (want, _) = reference::draw_from(&s, seed, pool_hash.clone());
            prop_assert_eq!(got.selections.len(), want.selections.len());
            for (g, w) in got.selections.iter().zip(&want.selections) {
                prop_assert_eq!(&g.institution, &w.institution);
                prop_assert_eq!(&g.team, &w.team);
                prop_assert_eq!(&g.leader, &w.leader);
            }
        }
        let auditor = v2::auditor_bundle(snap, leaves, e, got, vec![]);
        prop_assert!(v2::verify2(&auditor).is_ok());
        let public = v2::public_bundle(&auditor).unwrap();
        prop_assert!(v2::verify2(&public).is_ok());
    }
}
