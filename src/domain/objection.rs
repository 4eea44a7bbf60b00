//! Objections (异议) to published results, issue 15 part 5: anyone (the institution, or
//! any member of the public) may demand the correction of published information with
//! evidence (企业信息公示暂行条例 art. 12; seed 003 §六(四) the institutions' complaints).
//!
//! An objection is filed through the public API against the latest published version of
//! one result; the filer gets a reference and a secret token to follow it. It is due for
//! a decision within N working days on the official calendar ([`ObjectionRules`]). The
//! task's lead decides: `upheld` (with the reason and the corrected result, recorded and
//! published as a correction version through the results' correction path; both versions
//! stay public) or `rejected` (with the reason). `overdue` is derived, never stored. The
//! filer's contact is stored but never public.

use crate::error::FieldError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::registry::check_text;
use super::result::ResultInput;

/// The version of the stored form written now.
pub const STORED_OBJECTION_VERSION: u32 = 1;

/// The longest evidence text, in characters.
pub const MAX_EVIDENCE: usize = 5000;

fn v1() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FilerKind {
    /// The inspected institution.
    Institution,
    /// Anyone else.
    Public,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObjectionState {
    /// 已受理待处理
    Filed,
    /// 异议成立，已更正
    Upheld,
    /// 异议不成立
    Rejected,
    /// 逾期未处理: filed and past its due date (derived, never stored).
    Overdue,
}

impl ObjectionState {
    pub fn code(self) -> &'static str {
        match self {
            Self::Filed => "filed",
            Self::Upheld => "upheld",
            Self::Rejected => "rejected",
            Self::Overdue => "overdue",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Filed => "已受理待处理",
            Self::Upheld => "异议成立，已更正",
            Self::Rejected => "异议不成立",
            Self::Overdue => "逾期未处理",
        }
    }
}

/// The outcome the lead decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObjectionOutcome {
    Upheld,
    Rejected,
}

/// The rules of objections. Defaults (decided, see README): a decision within 20 working
/// days (the time 政府信息公开条例 art. 33 gives an administration to answer a request,
/// which art. 41's correction requests follow); at most 5 objections a day against one
/// result and 100 an hour in all, through the public endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionRules {
    /// Working days to decide (1–120).
    #[schema(minimum = 1, maximum = 120)]
    pub decide_within: u32,
    /// Objections accepted per result in 24 hours (1–1000).
    #[schema(minimum = 1, maximum = 1000)]
    pub per_result_per_day: u32,
    /// Objections accepted in all in one hour (1–100000).
    #[schema(minimum = 1, maximum = 100000)]
    pub per_hour: u32,
}

impl Default for ObjectionRules {
    fn default() -> Self {
        Self {
            decide_within: 20,
            per_result_per_day: 5,
            per_hour: 100,
        }
    }
}

impl ObjectionRules {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        for (field, v, max) in [
            ("decide_within", self.decide_within, 120),
            ("per_result_per_day", self.per_result_per_day, 1000),
            ("per_hour", self.per_hour, 100_000),
        ] {
            if !(1..=max).contains(&v) {
                e.push(FieldError::new(
                    field,
                    format!("must be between 1 and {max}"),
                ));
            }
        }
        e
    }
}

/// Filing an objection (public, no token).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileObjectionInput {
    pub filer_kind: FilerKind,
    /// What is wrong and the evidence for it (1–5000 characters).
    #[schema(
        min_length = 1,
        max_length = 5000,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub evidence: String,
    /// A link to the evidence (http or https, up to 500 characters).
    #[serde(default)]
    #[schema(max_length = 500, pattern = "^https?://[^\\s\\x00-\\x1f\\x7f-\\x9f]+$")]
    pub evidence_link: Option<String>,
    /// How to reach the filer (up to 200 characters): never public.
    #[serde(default)]
    #[schema(
        max_length = 200,
        pattern = "^(?:[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?)?$"
    )]
    pub contact: String,
}

impl FileObjectionInput {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        check_text(&mut e, "evidence", &self.evidence, true, MAX_EVIDENCE);
        check_text(&mut e, "contact", &self.contact, false, 200);
        if let Some(l) = &self.evidence_link {
            let rest = l
                .strip_prefix("https://")
                .or_else(|| l.strip_prefix("http://"))
                .unwrap_or("");
            let ok = !rest.is_empty() && !rest.chars().any(|c| c.is_whitespace() || c.is_control());
            if l.chars().count() > 500 {
                e.push(FieldError::new(
                    "evidence_link",
                    "must be at most 500 characters",
                ));
            } else if !ok {
                e.push(FieldError::new(
                    "evidence_link",
                    "must be an http:// or https:// link without spaces",
                ));
            }
        }
        e
    }
}

/// The lead's decision.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideObjectionInput {
    pub outcome: ObjectionOutcome,
    /// Why (1–900 characters); public with the outcome (and, upheld, the correction's
    /// reason).
    #[schema(
        min_length = 1,
        max_length = 900,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub reason: String,
    /// Upheld: the corrected result, recorded and published as a new version with the
    /// objection's reference and reason as its correction reason. Absent when rejected.
    #[serde(default)]
    pub result: Option<ResultInput>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub decided_on: Option<NaiveDate>,
}

impl DecideObjectionInput {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        check_text(&mut e, "reason", &self.reason, true, 900);
        if let Some(d) = self.decided_on {
            super::registry::check_date(&mut e, "decided_on", d);
        }
        match (self.outcome, &self.result) {
            (ObjectionOutcome::Upheld, None) => e.push(FieldError::new(
                "result",
                "an upheld objection corrects the result: give the corrected result",
            )),
            (ObjectionOutcome::Rejected, Some(_)) => e.push(FieldError::new(
                "result",
                "a rejected objection changes no result",
            )),
            _ => {}
        }
        e
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ObjectionDecision {
    pub outcome: ObjectionOutcome,
    pub reason: String,
    #[schema(value_type = String, format = Date)]
    pub decided_on: NaiveDate,
    /// Upheld: the result version the correction made.
    #[serde(default)]
    pub correction_version: Option<i64>,
}

/// The stored form of an objection (tolerant, versioned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objection {
    #[serde(default = "v1")]
    pub stored_version: u32,
    pub reference: String,
    pub task_id: String,
    pub institution_id: String,
    /// The published result version objected to.
    pub result_version: i64,
    pub filer_kind: FilerKind,
    pub evidence: String,
    #[serde(default)]
    pub evidence_link: Option<String>,
    /// Never public.
    #[serde(default)]
    pub contact: String,
    pub filed_on: NaiveDate,
    pub due_date: NaiveDate,
    pub state: ObjectionState,
    #[serde(default)]
    pub decision: Option<ObjectionDecision>,
}

impl Objection {
    pub fn state_on(&self, today: NaiveDate) -> ObjectionState {
        match self.state {
            ObjectionState::Filed if today > self.due_date => ObjectionState::Overdue,
            s => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_is_required_and_a_link_is_a_web_link() {
        let mut i = FileObjectionInput {
            filer_kind: FilerKind::Public,
            evidence: " ".into(),
            evidence_link: None,
            contact: String::new(),
        };
        assert_eq!(i.validate()[0].field, "evidence");
        i.evidence = "公示的追回金额有误".into();
        assert!(i.validate().is_empty());
        for bad in ["javascript:alert(1)", "https://", "http://a b", "ftp://x"] {
            i.evidence_link = Some(bad.into());
            assert_eq!(i.validate()[0].field, "evidence_link", "{bad}");
        }
        i.evidence_link = Some("https://example.org/evidence.pdf".into());
        assert!(i.validate().is_empty());
    }

    #[test]
    fn an_upheld_objection_carries_the_corrected_result_and_a_rejected_one_none() {
        let i = DecideObjectionInput {
            outcome: ObjectionOutcome::Upheld,
            reason: "r".into(),
            result: None,
            decided_on: None,
        };
        assert_eq!(i.validate()[0].field, "result");
        assert!(ObjectionRules::default().validate().is_empty());
    }
}
