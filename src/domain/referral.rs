//! Referrals (移送) and major cases (要情报告), issue 15 part 3.
//!
//! A referral records a result's case passed to the police, discipline inspection or
//! another department: to whom, when, the receiving case number, its status. A major case
//! (seed 001 三(三): 涉案金额 50 万元以上, or 移交公安机关) must be reported to the level
//! above within three days of the case being closed or referred; the rule is configurable.

use crate::error::FieldError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::registry::{check_date, check_text};

fn v1() -> u32 {
    1
}

/// Who receives a referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    /// 公安机关
    Police,
    /// 纪检监察机关
    Discipline,
    /// 其他部门 (卫生健康、市场监管、药监 …; name it in `recipient_name`)
    OtherDepartment,
}

impl Recipient {
    pub fn code(self) -> &'static str {
        match self {
            Self::Police => "police",
            Self::Discipline => "discipline",
            Self::OtherDepartment => "other_department",
        }
    }
}

/// Where a referral stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReferralStatus {
    /// 已移送
    Referred,
    /// 已受理 / 立案
    Accepted,
    /// 不予受理，退回
    Returned,
    /// 已办结
    Closed,
}

impl ReferralStatus {
    pub fn code(self) -> &'static str {
        match self {
            Self::Referred => "referred",
            Self::Accepted => "accepted",
            Self::Returned => "returned",
            Self::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralInput {
    pub recipient: Recipient,
    /// The receiving authority by name (e.g. 某某县公安局).
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub recipient_name: String,
    #[schema(value_type = String, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub referred_on: NaiveDate,
    /// The receiving authority's case number, when known.
    #[serde(default)]
    #[schema(
        max_length = 100,
        pattern = "^(?:[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?)?$"
    )]
    pub case_number: String,
    /// Amount involved in fen (涉案金额), when the referral states it.
    #[serde(default)]
    pub amount_involved_fen: Option<i64>,
    #[serde(default)]
    #[schema(
        max_length = 2000,
        pattern = "^(?:[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?)?$"
    )]
    pub note: String,
}

impl ReferralInput {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        check_text(&mut e, "recipient_name", &self.recipient_name, true, 200);
        check_date(&mut e, "referred_on", self.referred_on);
        check_text(&mut e, "case_number", &self.case_number, false, 100);
        check_text(&mut e, "note", &self.note, false, 2000);
        if self.amount_involved_fen.is_some_and(|a| a < 0) {
            e.push(FieldError::new(
                "amount_involved_fen",
                "must not be negative",
            ));
        }
        e
    }
}

/// A change of a referral's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralUpdate {
    pub status: ReferralStatus,
    /// Set or correct the receiving case number.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub case_number: Option<String>,
    #[serde(default)]
    #[schema(
        max_length = 2000,
        pattern = "^(?:[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?)?$"
    )]
    pub note: String,
}

/// The stored form of a referral (tolerant, versioned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Referral {
    #[serde(default = "v1")]
    pub stored_version: u32,
    pub task_id: String,
    pub institution_id: String,
    pub recipient: Recipient,
    pub recipient_name: String,
    #[schema(value_type = String, format = Date)]
    pub referred_on: NaiveDate,
    #[serde(default)]
    pub case_number: String,
    #[serde(default)]
    pub amount_involved_fen: Option<i64>,
    pub status: ReferralStatus,
    #[serde(default)]
    pub notes: Vec<String>,
}

/// The major-case rule (要情报告). Default: seed 001 三(三) — 涉案金额 50 万元以上 or
/// 移交公安机关, reported within 3 days. "三日内" without "工作日" is read as calendar
/// days (where seed rules mean working days they say 工作日).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MajorCaseRule {
    /// Amount involved from which a case is major, in fen (default 50,000,000 = 500,000 yuan).
    #[schema(minimum = 1)]
    pub threshold_fen: i64,
    /// Whether a referral to the police makes a case major.
    pub police_referral: bool,
    /// Days to report within.
    #[schema(minimum = 1, maximum = 60)]
    pub report_within_days: u32,
    /// Whether those days are working days on the official calendar (default false:
    /// calendar days).
    #[serde(default)]
    pub working_days: bool,
}

impl Default for MajorCaseRule {
    fn default() -> Self {
        Self {
            threshold_fen: 50_000_000,
            police_referral: true,
            report_within_days: 3,
            working_days: false,
        }
    }
}

impl MajorCaseRule {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        if self.threshold_fen <= 0 {
            e.push(FieldError::new("threshold_fen", "must be positive"));
        }
        if !(1..=60).contains(&self.report_within_days) {
            e.push(FieldError::new(
                "report_within_days",
                "must be between 1 and 60",
            ));
        }
        e
    }
}

/// Reporting a major case to the level above.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MajorCaseReportInput {
    #[schema(value_type = String, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub reported_on: NaiveDate,
    /// 发现过程、违法违规事实、处理结果、处理依据.
    #[schema(
        min_length = 1,
        max_length = 10000,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub summary: String,
}

impl MajorCaseReportInput {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        check_date(&mut e, "reported_on", self.reported_on);
        check_text(&mut e, "summary", &self.summary, true, 10_000);
        e
    }
}
