//! Validated domain values. Raw strings are parsed here once, at the edge; everything
//! past the HTTP layer holds these types and can trust them.

/// The public blacklist (黑名单, issue 15 part 7).
pub mod blacklist;
pub mod calendar;
pub mod clock;
/// The clue ledger (举报线索台账, issue 15 part 4).
pub mod clue;
pub mod codes;
pub mod filter;
pub mod ids;
/// Record lists (issue 14): typed columns, cells, content and member hashes.
pub mod list;
pub mod list_derive;
/// Objections to published results (异议, issue 15 part 5).
pub mod objection;
pub mod organization;
/// Annual plans (抽查计划): groups, rounds, coverage rules.
pub mod plan;
/// Re-check samples (抽查复查) of completed inspections.
pub mod recheck;
/// Rectification after an inspection (issue 15).
pub mod rectification;
/// Referrals and major cases (issue 15).
pub mod referral;
pub mod regions;
pub mod registry;
pub mod result;
pub mod spreadsheet;
pub mod stored;
pub mod stored_registry;
/// Targeted inspections (定向): named institutions with reasons.
pub mod targeted;
pub mod task;

pub use clock::Clock;
pub use codes::{CreditCode, DepartmentCode, RegionCode};

/// The most distinct values one list parameter (`?region_prefix=a,b,…`) takes, on every
/// listing, private or public: more is a 422 naming the parameter.
pub const MAX_LIST_VALUES: usize = 200;
pub use ids::{HexValue, IdempotencyKey, Source};

/// Who did something, as the audit chain and the record history keep it: the token's
/// subject and role (`coordinator:<department>` for coordinators).
#[derive(Debug, Clone)]
pub struct Actor {
    pub sub: String,
    pub role: String,
}
