//! The published bundle (suiji-draw/1 §8) and its verification.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::SPEC;
use super::canonical::{Canon, CanonicalJson, Sink};
use super::engine::{
    DrawError, DrawResult, Selection, checks_and_pool_hash, draw_with_seed, result_hash,
};
use super::replace::{ReplaceError, Replacement, ReplayState};
use super::seed::{EntropyError, EntropyValue, check_entropy, seed};
use super::snapshot::{Snapshot, SnapshotProblem};

/// Everything needed to recompute and check a draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// Always `"suiji-draw/1"`.
    pub spec: String,
    /// The sealed snapshot.
    pub snapshot: Snapshot,
    /// Revealed entropy, sorted by source.
    pub entropy: Vec<EntropyValue>,
    /// The draw as first made.
    pub result: DrawResult,
    /// `hex(SHA-256(canonical(result)))`.
    pub result_hash: String,
    /// Every replacement so far, by seq.
    pub replacements: Vec<Replacement>,
}

impl From<DrawError> for Mismatch {
    fn from(e: DrawError) -> Self {
        match e {
            DrawError::Invalid(p) => Mismatch::Snapshot(p),
            DrawError::Infeasible(bad) => Mismatch::Infeasible(bad),
            DrawError::Entropy(e) => Mismatch::Entropy(e),
        }
    }
}

impl CanonicalJson for Bundle {
    fn write_canonical<S: Sink>(&self, w: &mut Canon<'_, S>) {
        w.begin_object();
        w.key("entropy");
        w.begin_array();
        for e in &self.entropy {
            w.begin_object();
            w.key("source");
            w.str(&e.source);
            w.key("value");
            w.str(&e.value);
            w.end_object();
        }
        w.end_array();
        w.key("replacements");
        w.begin_array();
        for r in &self.replacements {
            r.write_canonical(w);
        }
        w.end_array();
        w.key("result");
        self.result.write_canonical(w);
        w.key("result_hash");
        w.str(&self.result_hash);
        w.key("snapshot");
        self.snapshot.write_canonical(w);
        w.key("spec");
        w.str(&self.spec);
        w.end_object();
    }
}

/// Assemble a bundle: entropy sorted by source, `result_hash` computed.
pub fn bundle(
    snapshot: Snapshot,
    mut entropy: Vec<EntropyValue>,
    result: DrawResult,
    replacements: Vec<Replacement>,
) -> Bundle {
    entropy.sort_by(|a, b| a.source.cmp(&b.source));
    let result_hash = result_hash(&result);
    Bundle {
        spec: SPEC.to_owned(),
        snapshot,
        entropy,
        result,
        result_hash,
        replacements,
    }
}

/// A bundle found consistent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDraw {
    /// Hex pool hash.
    pub pool_hash: String,
    /// Hex seed.
    pub seed: String,
    /// Hex result hash.
    pub result_hash: String,
    /// Number of selections.
    pub selections: usize,
    /// Number of replacements.
    pub replacements: usize,
}

/// The first difference between a bundle and its recomputation, in words.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Mismatch {
    /// `spec` of the bundle or of its result is not `suiji-draw/1`.
    #[error("{what} spec is {found:?}, expected \"suiji-draw/1\"")]
    Spec {
        /// "bundle" or "result".
        what: &'static str,
        /// The spec found.
        found: String,
    },
    /// The snapshot is not well-formed.
    #[error("snapshot is not well-formed: {0}")]
    Snapshot(SnapshotProblem),
    /// The snapshot could never have been sealed.
    #[error("snapshot is infeasible: institution {} has too few eligible inspectors in {} ({} pair(s) in all)", .0[0].0, .0[0].1, .0.len())]
    Infeasible(Vec<(String, String)>),
    /// The result's pool hash is not the snapshot's.
    #[error("pool_hash differs: the snapshot hashes to {expected}, the result says {found}")]
    PoolHash {
        /// Recomputed.
        expected: String,
        /// In the bundle.
        found: String,
    },
    /// The entropy does not fit the plan (missing source, bad reveal, …).
    #[error(transparent)]
    Entropy(#[from] EntropyError),
    /// The result's seed is not the one recomputed from the pool hash and entropy.
    #[error("seed differs: {expected} expected, {found} found")]
    Seed {
        /// Recomputed.
        expected: String,
        /// In the bundle.
        found: String,
    },
    /// A field of one selection differs.
    #[error("selection {position}: {field} {expected} expected, {found} found")]
    Selection {
        /// 1-based position in `selections`.
        position: usize,
        /// Which field, e.g. "institution" or "health team".
        field: String,
        /// Recomputed.
        expected: String,
        /// In the bundle.
        found: String,
    },
    /// Different number of selections.
    #[error("{expected} selections expected, {found} found")]
    SelectionCount {
        /// Recomputed.
        expected: usize,
        /// In the bundle.
        found: usize,
    },
    /// Canonical bytes differ in a way not named above.
    #[error("result differs from the recomputed draw")]
    Result,
    /// `result_hash` is not the hash of the result.
    #[error("result_hash differs: {expected} expected, {found} found")]
    ResultHash {
        /// Recomputed.
        expected: String,
        /// In the bundle.
        found: String,
    },
    /// Replacements not numbered 1, 2, ….
    #[error("replacement {position}: seq {found} found, {expected} expected")]
    ReplacementSeq {
        /// 1-based position in `replacements`.
        position: usize,
        /// Expected seq.
        expected: u64,
        /// Seq found.
        found: u64,
    },
    /// A replacement that could not have been made.
    #[error("replacement seq {seq}: {error}")]
    ReplacementRefused {
        /// Its seq.
        seq: u64,
        /// Why.
        error: ReplaceError,
    },
    /// A replacement's substitute is not the drawn one.
    #[error("replacement seq {seq}: in {expected} expected, {found} found")]
    ReplacementIn {
        /// Its seq.
        seq: u64,
        /// Recomputed.
        expected: String,
        /// In the bundle.
        found: String,
    },
}

fn join(ids: &[String]) -> String {
    format!("[{}]", ids.join(", "))
}

fn compare_selection(position: usize, e: &Selection, f: &Selection) -> Result<(), Mismatch> {
    let diff = |field: &str, expected: String, found: String| Mismatch::Selection {
        position,
        field: field.to_owned(),
        expected,
        found,
    };
    if e.order != f.order {
        return Err(diff("order", e.order.to_string(), f.order.to_string()));
    }
    if e.stratum != f.stratum {
        return Err(diff("stratum", e.stratum.clone(), f.stratum.clone()));
    }
    if e.institution != f.institution {
        return Err(diff(
            "institution",
            e.institution.clone(),
            f.institution.clone(),
        ));
    }
    for (i, et) in e.team.iter().enumerate() {
        match f.team.get(i) {
            None => {
                return Err(diff(
                    "team",
                    format!("{} department(s)", e.team.len()),
                    format!("{} department(s)", f.team.len()),
                ));
            }
            Some(ft) if ft.department != et.department => {
                return Err(diff(
                    &format!("team {}: department", i + 1),
                    et.department.clone(),
                    ft.department.clone(),
                ));
            }
            Some(ft) if ft.inspectors != et.inspectors => {
                return Err(diff(
                    &format!("{} team", et.department),
                    join(&et.inspectors),
                    join(&ft.inspectors),
                ));
            }
            Some(_) => {}
        }
    }
    if f.team.len() != e.team.len() {
        return Err(diff(
            "team",
            format!("{} department(s)", e.team.len()),
            format!("{} department(s)", f.team.len()),
        ));
    }
    if e.leader != f.leader {
        let shown = |l: &Option<String>| l.clone().unwrap_or_else(|| "null".into());
        return Err(diff("leader", shown(&e.leader), shown(&f.leader)));
    }
    Ok(())
}

/// Recompute the draw of `bundle` from its snapshot and entropy (checking every commitment)
/// and every replacement from its request; accept only if everything is identical.
pub fn verify(bundle: &Bundle) -> Result<VerifiedDraw, Mismatch> {
    if bundle.spec != SPEC {
        return Err(Mismatch::Spec {
            what: "bundle",
            found: bundle.spec.clone(),
        });
    }
    let snapshot = &bundle.snapshot;
    let found = &bundle.result;
    let (checked, ph) = checks_and_pool_hash(snapshot, || {
        if found.spec != SPEC {
            return Err(Mismatch::Spec {
                what: "result",
                found: found.spec.clone(),
            });
        }
        Ok(())
    });
    checked?;
    if found.pool_hash != ph {
        return Err(Mismatch::PoolHash {
            expected: ph,
            found: found.pool_hash.clone(),
        });
    }
    check_entropy(&snapshot.entropy_plan, &bundle.entropy)?;
    let seed = seed(&ph, &bundle.entropy)?;
    let seed_hex = hex::encode(seed);
    if found.seed != seed_hex {
        return Err(Mismatch::Seed {
            expected: seed_hex,
            found: found.seed.clone(),
        });
    }
    let expected = draw_with_seed(snapshot, ph, &seed)?;
    for (i, (e, f)) in expected
        .selections
        .iter()
        .zip(&found.selections)
        .enumerate()
    {
        compare_selection(i + 1, e, f)?;
    }
    if expected.selections.len() != found.selections.len() {
        return Err(Mismatch::SelectionCount {
            expected: expected.selections.len(),
            found: found.selections.len(),
        });
    }
    let expected_digest = expected.canonical_sha256();
    if expected_digest != found.canonical_sha256() {
        return Err(Mismatch::Result);
    }
    let expected_hash = hex::encode(expected_digest);
    if bundle.result_hash != expected_hash {
        return Err(Mismatch::ResultHash {
            expected: expected_hash,
            found: bundle.result_hash.clone(),
        });
    }

    if !bundle.replacements.is_empty() {
        check_replacements(snapshot, &expected, &bundle.replacements)?;
    }

    Ok(VerifiedDraw {
        pool_hash: expected.pool_hash,
        seed: expected.seed,
        result_hash: expected_hash,
        selections: expected.selections.len(),
        replacements: bundle.replacements.len(),
    })
}

/// Recompute every replacement's `in` from its request, in order.
fn check_replacements(
    snapshot: &Snapshot,
    expected: &DrawResult,
    replacements: &[Replacement],
) -> Result<(), Mismatch> {
    let mut state = ReplayState::new(snapshot, expected)
        .map_err(|error| Mismatch::ReplacementRefused { seq: 0, error })?;
    for (i, r) in replacements.iter().enumerate() {
        let want_seq = i as u64 + 1;
        if r.seq != want_seq {
            return Err(Mismatch::ReplacementSeq {
                position: i + 1,
                expected: want_seq,
                found: r.seq,
            });
        }
        let inn = state
            .substitute(&r.request())
            .map_err(|error| Mismatch::ReplacementRefused { seq: r.seq, error })?;
        if inn != r.r#in {
            return Err(Mismatch::ReplacementIn {
                seq: r.seq,
                expected: inn,
                found: r.r#in.clone(),
            });
        }
        state
            .apply(r)
            .map_err(|error| Mismatch::ReplacementRefused { seq: r.seq, error })?;
    }
    Ok(())
}
