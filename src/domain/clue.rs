//! The clue ledger (举报线索台账, issue 15 part 4; seed 001: 受理、交办、查处、反馈 with
//! time limits, 线索办理流向、处理结果"一账清").
//!
//! A clue is received (source, day, subject, summary, and the reporter's personal data,
//! which is stored but never public, never exported and never in a list), then assigned
//! (交办) to an organization or department, investigated (查处: the finding), answered
//! (反馈 to the reporter) and closed. Each open step has a due date in working days on the
//! official calendar, counted from the step before ([`TimeLimits`], configurable). States:
//! `received → assigned → investigated → answered → closed`; a received clue may also be
//! closed at once (不予受理, with the reason). `overdue` is derived on the day asked, never
//! stored. A clue whose subject is a registered institution can become a targeted
//! inspection (定向检查, reason kind `clue`), linked both ways.

use crate::error::FieldError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::registry::{check_date, check_text};

/// The version of the stored form written now.
pub const STORED_CLUE_VERSION: u32 = 1;

fn v1() -> u32 {
    1
}

/// Where a clue came from (举报渠道).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClueSource {
    /// 举报电话
    Hotline,
    /// 来信
    Letter,
    /// 网络举报
    Online,
    /// 智能监控/大数据监测
    Monitoring,
    /// 上级交办或其他部门移送
    Referral,
    Other,
}

impl ClueSource {
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Hotline => "电话举报",
            Self::Letter => "来信举报",
            Self::Online => "网络举报",
            Self::Monitoring => "监测发现",
            Self::Referral => "交办移送",
            Self::Other => "其他",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ClueState)]
pub enum ClueState {
    /// 已受理登记
    Received,
    /// 已交办
    Assigned,
    /// 已查处
    Investigated,
    /// 已反馈
    Answered,
    /// 已办结
    Closed,
    /// 逾期: the current step's due date has passed (derived, never stored).
    Overdue,
}

impl ClueState {
    pub const STORED: [ClueState; 5] = [
        Self::Received,
        Self::Assigned,
        Self::Investigated,
        Self::Answered,
        Self::Closed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Assigned => "assigned",
            Self::Investigated => "investigated",
            Self::Answered => "answered",
            Self::Closed => "closed",
            Self::Overdue => "overdue",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Received => "已受理待交办",
            Self::Assigned => "已交办待查处",
            Self::Investigated => "已查处待反馈",
            Self::Answered => "已反馈待办结",
            Self::Closed => "已办结",
            Self::Overdue => "逾期",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Received,
            Self::Assigned,
            Self::Investigated,
            Self::Answered,
            Self::Closed,
            Self::Overdue,
        ]
        .into_iter()
        .find(|x| x.code() == s)
    }
}

/// The time limits of the ledger, in working days on the official calendar, each counted
/// from the step before. Defaults (decided, see README): assign within 5 working days of
/// receipt, investigate within 30 of the assignment, answer the reporter within 5 of the
/// finding (the 5 working days the 医疗保障基金使用监督管理举报处理暂行办法 gives for
/// telling a real-name reporter of a decision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClueTimeLimits)]
pub struct TimeLimits {
    /// 受理 → 交办: working days after receipt (1–60).
    #[schema(minimum = 1, maximum = 60)]
    pub assign_within: u32,
    /// 交办 → 查处: working days after the assignment (1–365).
    #[schema(minimum = 1, maximum = 365)]
    pub investigate_within: u32,
    /// 查处 → 反馈: working days after the finding (1–60).
    #[schema(minimum = 1, maximum = 60)]
    pub answer_within: u32,
}

impl Default for TimeLimits {
    fn default() -> Self {
        Self {
            assign_within: 5,
            investigate_within: 30,
            answer_within: 5,
        }
    }
}

impl TimeLimits {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        for (field, v, max) in [
            ("assign_within", self.assign_within, 60),
            ("investigate_within", self.investigate_within, 365),
            ("answer_within", self.answer_within, 60),
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

/// Who is reported: a registered institution, or a free name with its credit code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClueSubjectInput)]
pub struct SubjectInput {
    /// The registry id of the institution; or give `name`.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub institution_id: Option<String>,
    /// The subject's name when it is not in the registry (1–200 characters).
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub name: Option<String>,
    /// 统一社会信用代码 of a subject not in the registry.
    #[serde(default)]
    #[schema(
        min_length = 18,
        max_length = 18,
        pattern = "^[0-9A-HJ-NPQRTUWXY]{18}$"
    )]
    pub credit_code: Option<String>,
}

/// The subject as stored: the registry's name and code when registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ClueSubject)]
pub struct Subject {
    #[serde(default)]
    pub institution_id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub credit_code: Option<String>,
    /// The institution's region when registered.
    #[serde(default)]
    pub region: Option<String>,
}

/// The reporter (举报人). Personal data: stored, shown only to those who handle the clue,
/// never public, never in a list or an export. Anonymous when absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reporter {
    #[serde(default)]
    #[schema(
        max_length = 100,
        pattern = "^(?:[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?)?$"
    )]
    pub name: String,
    #[serde(default)]
    #[schema(
        max_length = 40,
        pattern = "^(?:[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?)?$"
    )]
    pub phone: String,
}

/// Receiving a clue (受理登记).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveClueInput {
    pub source: ClueSource,
    /// The day received (default: today in China).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub received_on: Option<NaiveDate>,
    pub subject: SubjectInput,
    /// What is reported (1–4000 characters).
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub summary: String,
    #[serde(default)]
    pub reporter: Option<Reporter>,
    /// The ledger number (台账编号, 1–64 characters; default: generated, `XS-` and the
    /// day and a counter).
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[0-9A-Za-z_/\\u4e00-\\u9fff-]{1,64}$"
    )]
    pub reference: Option<String>,
    /// The organization whose ledger holds the clue (its code): an admin names it; a
    /// coordinator's default is its own organization.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub organization: Option<String>,
}

impl ReceiveClueInput {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        if let Some(d) = self.received_on {
            check_date(&mut e, "received_on", d);
        }
        check_text(&mut e, "summary", &self.summary, true, 4000);
        match (&self.subject.institution_id, &self.subject.name) {
            (Some(i), None) => check_text(&mut e, "subject.institution_id", i, true, 64),
            (None, Some(n)) => check_text(&mut e, "subject.name", n, true, 200),
            (Some(_), Some(_)) => e.push(FieldError::new(
                "subject.name",
                "give either subject.institution_id (registered) or subject.name, not both",
            )),
            (None, None) => e.push(FieldError::new(
                "subject.institution_id",
                "a clue names its subject: subject.institution_id or subject.name",
            )),
        }
        if let Some(c) = &self.subject.credit_code {
            if self.subject.institution_id.is_some() {
                e.push(FieldError::new(
                    "subject.credit_code",
                    "a registered institution's credit code comes from the registry",
                ));
            } else if let Err(m) = super::CreditCode::parse(c) {
                e.push(FieldError::new("subject.credit_code", m));
            }
        }
        if let Some(r) = &self.reporter {
            check_text(&mut e, "reporter.name", &r.name, false, 100);
            check_text(&mut e, "reporter.phone", &r.phone, false, 40);
        }
        if let Some(r) = &self.reference {
            check_reference(&mut e, "reference", r);
        }
        if let Some(o) = &self.organization {
            check_text(&mut e, "organization", o, true, 64);
        }
        e
    }
}

/// A ledger number: 1–64 letters, digits, `-`, `_`, `/` or CJK characters.
pub fn check_reference(e: &mut Vec<FieldError>, field: &str, r: &str) {
    let n = r.chars().count();
    if n == 0 || n > 64 {
        e.push(FieldError::new(field, "must be 1 to 64 characters"));
    } else if !r.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(c, '-' | '_' | '/')
            || ('\u{4e00}'..='\u{9fff}').contains(&c)
    }) {
        e.push(FieldError::new(
            field,
            "only letters, digits, '-', '_', '/' and Chinese characters",
        ));
    }
}

/// 交办: to whom the clue goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignClueInput {
    /// The organization that investigates (its code; default: the clue's own). It must
    /// lie in the clue's organization's jurisdiction.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub organization: Option<String>,
    /// The office or department that handles it (e.g. 基金监管科; 1–200 characters).
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub handler: String,
    #[serde(default)]
    #[schema(
        max_length = 2000,
        pattern = "^(?:[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?)?$"
    )]
    pub note: String,
    /// Default: today in China.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub assigned_on: Option<NaiveDate>,
}

/// 查处: what the investigation found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvestigateClueInput {
    /// Whether the report proved true (查实).
    pub substantiated: bool,
    /// 1–4000 characters.
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub finding: String,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub investigated_on: Option<NaiveDate>,
}

/// 反馈: what the reporter was told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerClueInput {
    /// 1–4000 characters.
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub feedback: String,
    /// How the reporter was told (电话/书面/短信…; up to 100 characters).
    #[serde(default)]
    #[schema(
        max_length = 100,
        pattern = "^(?:[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?)?$"
    )]
    pub channel: String,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub answered_on: Option<NaiveDate>,
}

/// 办结, or 不予受理 straight after receipt (the reason is then required).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseClueInput {
    /// Required when closing a clue that was only received (不予受理); up to 2000.
    #[serde(default)]
    #[schema(
        max_length = 2000,
        pattern = "^(?:[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?)?$"
    )]
    pub note: String,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub closed_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ClueAssignment)]
pub struct Assignment {
    /// The investigating organization's code, if not the clue's own.
    #[serde(default)]
    pub organization: Option<String>,
    pub handler: String,
    pub note: String,
    #[schema(value_type = String, format = Date)]
    pub assigned_on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ClueInvestigation)]
pub struct Investigation {
    pub substantiated: bool,
    pub finding: String,
    #[schema(value_type = String, format = Date)]
    pub investigated_on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ClueAnswer)]
pub struct Answer {
    pub feedback: String,
    pub channel: String,
    #[schema(value_type = String, format = Date)]
    pub answered_on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ClueClosure)]
pub struct Closure {
    pub note: String,
    #[schema(value_type = String, format = Date)]
    pub closed_on: NaiveDate,
    /// Closed straight after receipt (不予受理).
    pub not_accepted: bool,
}

/// The stored form of a clue (tolerant, versioned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clue {
    #[serde(default = "v1")]
    pub stored_version: u32,
    pub reference: String,
    pub source: ClueSource,
    pub received_on: NaiveDate,
    pub subject: Subject,
    pub summary: String,
    #[serde(default)]
    pub reporter: Option<Reporter>,
    /// The owning organization's code (None: a department's default organization).
    #[serde(default)]
    pub organization: Option<String>,
    /// The owning organization's region prefix ("" everywhere).
    #[serde(default)]
    pub region_prefix: String,
    /// The owning department (a coordinator of it, governing the region, handles it).
    pub department: String,
    pub state: ClueState,
    /// The current open step's due date (the last one's once answered or closed).
    pub due_date: NaiveDate,
    /// The time limits in force when received.
    pub limits: TimeLimits,
    #[serde(default)]
    pub assignment: Option<Assignment>,
    /// The region prefix of the organization assigned (its coordinators may act too).
    #[serde(default)]
    pub assigned_region: Option<String>,
    /// The assigned organization's department.
    #[serde(default)]
    pub assigned_department: Option<String>,
    #[serde(default)]
    pub investigation: Option<Investigation>,
    #[serde(default)]
    pub answer: Option<Answer>,
    #[serde(default)]
    pub closure: Option<Closure>,
    /// The targeted inspection made from this clue (定向检查).
    #[serde(default)]
    pub task_id: Option<String>,
}

impl Clue {
    /// The state on `today`: `overdue` when an open step's due date has passed.
    pub fn state_on(&self, today: NaiveDate) -> ClueState {
        match self.state {
            ClueState::Received | ClueState::Assigned | ClueState::Investigated
                if today > self.due_date =>
            {
                ClueState::Overdue
            }
            s => s,
        }
    }

    /// The open step the due date belongs to (`assign`, `investigate`, `answer`), if any.
    pub fn next_step(&self) -> Option<&'static str> {
        match self.state {
            ClueState::Received => Some("assign"),
            ClueState::Assigned => Some("investigate"),
            ClueState::Investigated => Some("answer"),
            _ => None,
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
    fn a_subject_is_registered_or_named_never_both_nor_neither() {
        let mut i = ReceiveClueInput {
            source: ClueSource::Hotline,
            received_on: Some(d("2025-09-26")),
            subject: SubjectInput {
                institution_id: None,
                name: None,
                credit_code: None,
            },
            summary: "挂床住院".into(),
            reporter: None,
            reference: None,
            organization: None,
        };
        assert_eq!(i.validate()[0].field, "subject.institution_id");
        i.subject.name = Some("某诊所".into());
        assert!(i.validate().is_empty());
        i.subject.institution_id = Some("x".into());
        assert_eq!(i.validate()[0].field, "subject.name");
        i.subject.name = None;
        i.subject.credit_code = Some("91110000000000000X".into());
        assert_eq!(i.validate()[0].field, "subject.credit_code");
    }

    #[test]
    fn overdue_only_while_a_step_is_open() {
        let mut c = Clue {
            stored_version: 1,
            reference: "XS-1".into(),
            source: ClueSource::Letter,
            received_on: d("2025-09-26"),
            subject: Subject {
                institution_id: None,
                name: "n".into(),
                credit_code: None,
                region: None,
            },
            summary: "s".into(),
            reporter: None,
            organization: None,
            region_prefix: String::new(),
            department: "medical_insurance".into(),
            state: ClueState::Received,
            due_date: d("2025-10-10"),
            limits: TimeLimits::default(),
            assignment: None,
            assigned_region: None,
            assigned_department: None,
            investigation: None,
            answer: None,
            closure: None,
            task_id: None,
        };
        assert_eq!(c.state_on(d("2025-10-10")), ClueState::Received);
        assert_eq!(c.state_on(d("2025-10-11")), ClueState::Overdue);
        c.state = ClueState::Answered;
        assert_eq!(c.state_on(d("2025-10-11")), ClueState::Answered);
        assert!(TimeLimits::default().validate().is_empty());
    }
}
