//! Rectification (责令限期整改 → 整改方案 → 整改完成 → 整改核查), issue 15 part 2.
//!
//! A rectification is ordered on one result (task, institution) with a due date, given as
//! a date or as N working days on the official calendar after the order. The institution's
//! plan (measures with a timetable) and its completion are recorded by the lead on its
//! behalf; a team drawn in a verification task (整改核查) verifies it. States:
//! `ordered → plan_submitted → completed → verified`, and `overdue` when the due date has
//! passed before completion (derived on the day asked, never stored: the calendar
//! decides). A failed verification sends it back to `ordered` with a new due date.

use crate::error::FieldError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::registry::{check_date, check_text};

/// The version of the stored form written now.
pub const STORED_RECTIFICATION_VERSION: u32 = 1;

fn v1() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RectificationState {
    /// 已责令整改
    Ordered,
    /// 已提交整改方案
    PlanSubmitted,
    /// 已整改完成 (awaiting verification)
    Completed,
    /// 已核查通过
    Verified,
    /// 逾期未整改: the due date passed before completion (derived, never stored).
    Overdue,
}

impl RectificationState {
    pub fn code(self) -> &'static str {
        match self {
            Self::Ordered => "ordered",
            Self::PlanSubmitted => "plan_submitted",
            Self::Completed => "completed",
            Self::Verified => "verified",
            Self::Overdue => "overdue",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Ordered => "已责令限期整改",
            Self::PlanSubmitted => "已提交整改方案",
            Self::Completed => "已整改待核查",
            Self::Verified => "整改已核查通过",
            Self::Overdue => "逾期未整改",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Ordered,
            Self::PlanSubmitted,
            Self::Completed,
            Self::Verified,
            Self::Overdue,
        ]
        .into_iter()
        .find(|x| x.code() == s)
    }
}

/// Ordering a rectification.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    /// What must be rectified.
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub requirements: String,
    /// The day of the order (default: today in China).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub ordered_on: Option<NaiveDate>,
    /// The due date; or give `due_working_days`.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub due_date: Option<NaiveDate>,
    /// Due N working days after the order, on the official calendar.
    #[serde(default)]
    pub due_working_days: Option<u32>,
}

impl OrderInput {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        check_text(&mut e, "requirements", &self.requirements, true, 4000);
        if let Some(d) = self.ordered_on {
            check_date(&mut e, "ordered_on", d);
        }
        match (self.due_date, self.due_working_days) {
            (Some(_), Some(_)) => e.push(FieldError::new(
                "due_date",
                "give either due_date or due_working_days, not both",
            )),
            (None, None) => e.push(FieldError::new(
                "due_date",
                "a rectification needs a due date: due_date or due_working_days",
            )),
            (Some(d), None) => check_date(&mut e, "due_date", d),
            (None, Some(n)) if !(1..=365).contains(&n) => e.push(FieldError::new(
                "due_working_days",
                "must be between 1 and 365",
            )),
            _ => {}
        }
        e
    }
}

/// One measure of the institution's plan, with its date in the timetable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub measure: String,
    #[schema(value_type = String, format = Date)]
    pub by: NaiveDate,
}

/// The institution's rectification plan (整改方案: 目标、措施和时间表, seed 002). Named
/// `RectificationPlanInput` in the OpenAPI document: `PlanInput` is the annual plan's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RectificationPlanInput)]
pub struct PlanInput {
    /// 整改目标
    #[serde(default)]
    #[schema(
        max_length = 2000,
        pattern = "^(?:[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?)?$"
    )]
    pub goal: String,
    /// The person responsible at the institution.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub responsible: String,
    pub measures: Vec<Measure>,
    #[schema(value_type = String, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub submitted_on: NaiveDate,
}

impl PlanInput {
    pub fn validate(&self, ordered_on: NaiveDate, due: NaiveDate) -> Vec<FieldError> {
        let mut e = Vec::new();
        check_text(&mut e, "goal", &self.goal, false, 2000);
        check_text(&mut e, "responsible", &self.responsible, true, 100);
        if self.measures.is_empty() {
            e.push(FieldError::new(
                "measures",
                "a plan needs at least one measure",
            ));
        }
        if self.measures.len() > 100 {
            e.push(FieldError::new("measures", "at most 100 measures"));
        }
        for (i, m) in self.measures.iter().enumerate() {
            check_text(
                &mut e,
                &format!("measures[{i}].measure"),
                &m.measure,
                true,
                2000,
            );
            if m.by < ordered_on || m.by > due {
                e.push(FieldError::new(
                    format!("measures[{i}].by"),
                    format!("the timetable must lie between the order ({ordered_on}) and the due date ({due})"),
                ));
            }
        }
        check_date(&mut e, "submitted_on", self.submitted_on);
        if self.submitted_on < ordered_on {
            e.push(FieldError::new(
                "submitted_on",
                format!("must not be before the order ({ordered_on})"),
            ));
        }
        e
    }
}

/// The institution reports the rectification done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteInput {
    #[schema(
        min_length = 1,
        max_length = 10000,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub report: String,
    #[schema(value_type = String, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub completed_on: NaiveDate,
}

/// 整改核查 by a team drawn in a verification task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyInput {
    /// The drawn task whose team verified: it must have drawn this institution, with a
    /// team, and no other institution.
    pub task_id: String,
    pub passed: bool,
    #[serde(default)]
    #[schema(
        max_length = 4000,
        pattern = "^(?:[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?)?$"
    )]
    pub note: String,
    #[schema(value_type = String, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub verified_on: NaiveDate,
    /// Required when `passed` is false: the new due date of the rectification.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub new_due_date: Option<NaiveDate>,
}

/// One verification as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Verification {
    pub task_id: String,
    pub passed: bool,
    pub note: String,
    #[schema(value_type = String, format = Date)]
    pub verified_on: NaiveDate,
}

/// The stored form of a rectification (tolerant, versioned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Rectification {
    #[serde(default = "v1")]
    pub stored_version: u32,
    pub task_id: String,
    pub institution_id: String,
    pub requirements: String,
    #[schema(value_type = String, format = Date)]
    pub ordered_on: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub due_date: NaiveDate,
    /// How the due date was given, when in working days.
    #[serde(default)]
    pub due_working_days: Option<u32>,
    /// The stored state (never `overdue`).
    pub state: RectificationState,
    #[serde(default)]
    pub plan: Option<PlanInput>,
    #[serde(default)]
    pub completion: Option<CompleteInput>,
    /// Every verification, oldest first.
    #[serde(default)]
    pub verifications: Vec<Verification>,
}

impl Rectification {
    /// The state on `today` (China): `overdue` when not completed and the due date has
    /// passed.
    pub fn state_on(&self, today: NaiveDate) -> RectificationState {
        match self.state {
            RectificationState::Ordered | RectificationState::PlanSubmitted
                if today > self.due_date =>
            {
                RectificationState::Overdue
            }
            s => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn overdue_only_before_completion_and_after_the_due_date() {
        let mut r = Rectification {
            stored_version: 1,
            task_id: "t".into(),
            institution_id: "i".into(),
            requirements: "x".into(),
            ordered_on: d("2025-09-26"),
            due_date: d("2025-10-10"),
            due_working_days: Some(5),
            state: RectificationState::Ordered,
            plan: None,
            completion: None,
            verifications: vec![],
        };
        assert_eq!(r.state_on(d("2025-10-10")), RectificationState::Ordered);
        assert_eq!(r.state_on(d("2025-10-11")), RectificationState::Overdue);
        r.state = RectificationState::Completed;
        assert_eq!(r.state_on(d("2025-10-11")), RectificationState::Completed);
    }

    #[test]
    fn an_order_needs_exactly_one_due_date() {
        let mut o = OrderInput {
            requirements: "整改".into(),
            ordered_on: None,
            due_date: None,
            due_working_days: None,
        };
        assert_eq!(o.validate()[0].field, "due_date");
        o.due_working_days = Some(5);
        assert!(o.validate().is_empty());
        o.due_date = Some(d("2025-10-10"));
        assert_eq!(o.validate()[0].field, "due_date");
    }
}
