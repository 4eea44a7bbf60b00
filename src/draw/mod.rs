//! The verifiable draw, suiji-draw/1: a pure module (no database, clock or I/O).
//!
//! Given a sealed [`Snapshot`] and the revealed entropy, [`draw`] recomputes the same
//! [`DrawResult`] in any implementation that follows `docs/draw-spec.md`; [`verify`]
//! checks a published [`Bundle`] and names the first difference. [`replace`] draws a
//! substitute inspector (递补) on top of a draw.
//!
//! Layout: [`canonical`] (canonical JSON, streaming SHA-256), [`snapshot`] (types, pool
//! hash, validation, feasibility), [`seed`] (commitments, seed), [`rng`] (derive, ChaCha20
//! stream, uniform, pick), [`engine`] (strata and teams), [`replace`], [`verify`] (bundle).
//!
//! suiji-draw/2 ([`v2`]) reuses all of the above and adds [`quicknet`] (the drand beacon
//! and its BLS signature) and [`merkle`] (the conflicts tree).

pub mod canonical;
pub mod engine;
pub mod merkle;
pub mod quicknet;
pub mod replace;
pub mod rng;
pub mod sample;
pub mod seed;
pub mod snapshot;
pub mod team_range;
pub mod tree;
pub mod v2;
pub mod verify;

/// The spec identifier written in every document.
pub const SPEC: &str = "suiji-draw/1";

pub use canonical::{CanonicalError, CanonicalJson, canonical_json};
pub use engine::{DrawError, DrawResult, Selection, Team, draw, draw_with_seed, result_hash};
pub use replace::{ReplaceError, Replacement, ReplacementRequest, ReplayState, replace};
pub use rng::{Stream, derive, pick};
pub use seed::{EntropyError, EntropyValue, check_commitment, check_entropy, seed};
pub use snapshot::{
    Department, EntropyPlanEntry, Inspector, Member, Ratio, Snapshot, SnapshotProblem, Stratum,
    infeasible_pairs, pool_hash, stratum_size, validate,
};
pub use verify::{Bundle, Mismatch, VerifiedDraw, bundle, verify};
