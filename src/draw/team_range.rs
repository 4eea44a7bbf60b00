//! Team size ranges (suiji-draw/2, `docs/draw-spec.md` B.14): a department may send between
//! `team_size` and `team_size_max` inspectors to each drawn institution. The teams are
//! first drawn exactly as without a range (B.5, `team_size` as the minimum); then this
//! extra pass adds members one level at a time — every team's (`team_size` + 1)-th member
//! before any team's (`team_size` + 2)-th — visiting the selections in an order drawn from
//! the seed, from the inspectors still eligible and under the cap. A team for which nobody
//! is eligible simply stays smaller (never below the minimum, which sealing guarantees).
//!
//! Pure: no I/O. The draw and every verifier (Rust and the browser page) run this same
//! rule; a snapshot without any `team_size_max` above `team_size` draws nothing here and
//! consumes no random stream, so every earlier draw keeps its bytes.

use std::collections::HashMap;

use super::rng::{Stream, derive, pick_indices};
use super::v2::{Selection2, Snapshot2, TEAM_SIZE_MAX_LIMIT};

/// The structural problems of the departments' ranges (B.1, B.14), in words.
pub fn validate_ranges(snapshot: &Snapshot2) -> Vec<String> {
    snapshot
        .departments
        .iter()
        .filter_map(|d| {
            let m = d.team_size_max?;
            (m < d.team_size || m > TEAM_SIZE_MAX_LIMIT).then(|| {
                format!(
                    "department {}: team_size_max {m} must be between team_size {} and {TEAM_SIZE_MAX_LIMIT}",
                    d.code, d.team_size
                )
            })
        })
        .collect()
}

/// True when some department has a range (`team_size_max` above `team_size`).
pub fn has_ranges(snapshot: &Snapshot2) -> bool {
    snapshot
        .departments
        .iter()
        .any(|d| d.team_size_max.is_some_and(|m| m > d.team_size))
}

/// The cap of the extra pass for a department: `max_assignments_per_inspector` when set,
/// else an even share of the maximum, `ceil(total × team_size_max / inspectors)`.
pub fn extra_cap(snapshot: &Snapshot2, team_size_max: u64, inspectors: usize, total: usize) -> u64 {
    match snapshot.max_assignments_per_inspector {
        Some(c) => c,
        None => {
            (u128::from(team_size_max) * total as u128).div_ceil(inspectors.max(1) as u128) as u64
        }
    }
}

/// The extra pass (B.14) on the selections of a draw whose teams hold the minimum members
/// (B.5): appends each extra member to its department's team, after the drawn minimum.
/// `conflicts` maps a drawn institution to its conflicts leaf (inspector ids, sorted).
pub fn extra_members(
    snapshot: &Snapshot2,
    conflicts: &HashMap<&str, &[String]>,
    seed: &[u8; 32],
    selections: &mut [Selection2],
) {
    if !has_ranges(snapshot) || selections.is_empty() {
        return;
    }
    let total = selections.len();
    // Regions of the drawn institutions (strata members are sorted by id).
    let strata: HashMap<&str, &super::Stratum> =
        snapshot.strata.iter().map(|s| (s.id.as_str(), s)).collect();
    let regions: Vec<Option<String>> = selections
        .iter()
        .map(|x| {
            strata.get(x.stratum.as_str()).and_then(|s| {
                s.members
                    .binary_search_by(|m| m.id.as_str().cmp(&x.institution))
                    .ok()
                    .and_then(|i| s.members[i].region.clone())
            })
        })
        .collect();
    // Loads count every assignment so far, in every department (ids are people).
    let mut loads: HashMap<String, u64> = HashMap::new();
    for x in selections.iter() {
        for t in &x.team {
            for i in &t.inspectors {
                *loads.entry(i.clone()).or_default() += 1;
            }
        }
    }
    let mut rng = Stream::new(derive(seed, "team-extra-order", &[]));
    let order = pick_indices(&mut rng, total, total);
    for (di, d) in snapshot.departments.iter().enumerate() {
        let Some(max) = d.team_size_max.filter(|m| *m > d.team_size) else {
            continue;
        };
        if d.inspectors.is_empty() {
            continue;
        }
        let cap = extra_cap(snapshot, max, d.inspectors.len(), total);
        for p in d.team_size + 1..=max {
            let level = p.to_string();
            for &xi in &order {
                let xi = xi as usize;
                let x = &selections[xi];
                let Some(team) = x.team.get(di) else {
                    continue;
                };
                if team.inspectors.len() as u64 != p - 1 {
                    continue;
                }
                let leaf = conflicts
                    .get(x.institution.as_str())
                    .copied()
                    .unwrap_or(&[]);
                let region = regions[xi].as_deref();
                let eligible: Vec<&str> = d
                    .inspectors
                    .iter()
                    .filter(|i| {
                        leaf.binary_search(&i.id).is_err()
                            && !(snapshot.cross_region
                                && i.region.is_some()
                                && i.region.as_deref() == region)
                            && !team.inspectors.contains(&i.id)
                            && loads.get(&i.id).copied().unwrap_or(0) < cap
                    })
                    .map(|i| i.id.as_str())
                    .collect();
                if eligible.is_empty() {
                    continue;
                }
                let mut rng = Stream::new(derive(
                    seed,
                    "team-extra",
                    &[&x.institution, &d.code, &level],
                ));
                let chosen = eligible[rng.uniform(eligible.len() as u64) as usize].to_owned();
                *loads.entry(chosen.clone()).or_default() += 1;
                selections[xi].team[di].inspectors.push(chosen);
            }
        }
    }
}
