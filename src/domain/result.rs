//! Inspection results as recorded on the national 随机抽查 record form, with the amounts
//! the medical-insurance rules add.

use crate::error::FieldError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The result category of the national record form. Codes are stable; labels are the
/// form's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResultCategory {
    /// 未发现问题
    NoProblem,
    /// 发现问题已责令改正
    Corrected,
    /// 发现问题待后续处理
    FollowUpPending,
    /// 未发现开展本次抽查涉及的经营活动
    ActivityNotFound,
    /// 通过登记的住所（经营场所）无法联系
    Unreachable,
    /// 不配合检查情节严重
    Obstructed,
    /// 已关闭停业或正在组织清算
    Closed,
    /// 注销
    Deregistered,
    /// 吊销
    LicenseRevoked,
    /// 撤销
    RegistrationRevoked,
}

impl ResultCategory {
    /// How serious the category is when several departments' parts are combined into one
    /// institution's result (the most serious wins). Ascending:
    /// no problem; nothing of this department's concern found; a problem corrected on
    /// order; a problem needing follow-up; the inspection could not be made (unreachable,
    /// then seriously obstructed: itself a violation); the institution ended (closed,
    /// deregistered, licence revoked, registration revoked), which ends every other finding.
    pub fn severity(self) -> u8 {
        match self {
            Self::NoProblem => 0,
            Self::ActivityNotFound => 1,
            Self::Corrected => 2,
            Self::FollowUpPending => 3,
            Self::Unreachable => 4,
            Self::Obstructed => 5,
            Self::Closed => 6,
            Self::Deregistered => 7,
            Self::LicenseRevoked => 8,
            Self::RegistrationRevoked => 9,
        }
    }

    pub const ALL: [ResultCategory; 10] = [
        Self::NoProblem,
        Self::Corrected,
        Self::FollowUpPending,
        Self::ActivityNotFound,
        Self::Unreachable,
        Self::Obstructed,
        Self::Closed,
        Self::Deregistered,
        Self::LicenseRevoked,
        Self::RegistrationRevoked,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::NoProblem => "no_problem",
            Self::Corrected => "corrected",
            Self::FollowUpPending => "follow_up_pending",
            Self::ActivityNotFound => "activity_not_found",
            Self::Unreachable => "unreachable",
            Self::Obstructed => "obstructed",
            Self::Closed => "closed",
            Self::Deregistered => "deregistered",
            Self::LicenseRevoked => "license_revoked",
            Self::RegistrationRevoked => "registration_revoked",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::NoProblem => "未发现问题",
            Self::Corrected => "发现问题已责令改正",
            Self::FollowUpPending => "发现问题待后续处理",
            Self::ActivityNotFound => "未发现开展本次抽查涉及的经营活动",
            Self::Unreachable => "通过登记的住所（经营场所）无法联系",
            Self::Obstructed => "不配合检查情节严重",
            Self::Closed => "已关闭停业或正在组织清算",
            Self::Deregistered => "注销",
            Self::LicenseRevoked => "吊销",
            Self::RegistrationRevoked => "撤销",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Self::NoProblem => "No problem found",
            Self::Corrected => "Problem found, corrected on order",
            Self::FollowUpPending => "Problem found, follow-up pending",
            Self::ActivityNotFound => "Activity not found",
            Self::Unreachable => "Cannot be reached at the registered address",
            Self::Obstructed => "Seriously obstructed the inspection",
            Self::Closed => "Closed or in liquidation",
            Self::Deregistered => "Deregistered",
            Self::LicenseRevoked => "Licence revoked",
            Self::RegistrationRevoked => "Registration revoked",
        }
    }
}

/// What happens next when a problem needs follow-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FollowUp {
    /// 移送其他部门处理
    ReferredToDepartment,
    /// 立案查处
    CaseOpened,
    /// 移送公安机关
    ReferredToPolice,
    /// 追回基金 pending
    FundRecoveryPending,
}

impl FollowUp {
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::ReferredToDepartment => "移送其他部门处理",
            Self::CaseOpened => "立案查处",
            Self::ReferredToPolice => "移送公安机关",
            Self::FundRecoveryPending => "待追回基金",
        }
    }
}

/// The outcome for one of the task's inspection items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Compliant,
    NonCompliant,
    NotChecked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemOutcome {
    /// An inspection-item code of the task.
    pub item: String,
    pub outcome: Outcome,
    #[serde(default)]
    pub note: String,
}

/// Money in fen (1/100 yuan), as integers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Amounts {
    /// 追回金额: fund recovered.
    #[serde(default)]
    pub fund_recovered_fen: i64,
    /// 罚款: penalties.
    #[serde(default)]
    pub penalty_fen: i64,
    /// Number of violations found.
    #[serde(default)]
    pub violations: i64,
}

/// A result as the lead department records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultInput {
    pub category: ResultCategory,
    /// What was found, in words.
    #[serde(default)]
    pub findings: String,
    #[serde(default)]
    pub item_outcomes: Vec<ItemOutcome>,
    #[serde(default)]
    pub amounts: Amounts,
    #[serde(default)]
    pub follow_up: Vec<FollowUp>,
    #[schema(value_type = String, format = Date)]
    pub inspection_date: NaiveDate,
    /// Required when this replaces a published version: why it is corrected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction_reason: Option<String>,
}

impl ResultInput {
    /// Rules that need only the task: its items and its inspection window.
    pub fn validate(&self, items: &[String], inspection_start: NaiveDate) -> Vec<FieldError> {
        self.validate_for(items, "an inspection item of this task", inspection_start)
    }

    /// [`validate`](Self::validate) with the items that apply here (e.g. one department's
    /// items for one kind of institution), `scope` saying in words what they are.
    pub fn validate_for(
        &self,
        items: &[String],
        scope: &str,
        inspection_start: NaiveDate,
    ) -> Vec<FieldError> {
        let mut e = Vec::new();
        super::registry::check_text(&mut e, "findings", &self.findings, false, 10_000);
        for (i, o) in self.item_outcomes.iter().enumerate() {
            if !items.contains(&o.item) {
                e.push(FieldError::new(
                    format!("item_outcomes[{i}].item"),
                    format!("{} is not {scope}", o.item),
                ));
            }
            if self.item_outcomes[..i].iter().any(|p| p.item == o.item) {
                e.push(FieldError::new(
                    format!("item_outcomes[{i}].item"),
                    "listed twice",
                ));
            }
            super::registry::check_text(
                &mut e,
                &format!("item_outcomes[{i}].note"),
                &o.note,
                false,
                2000,
            );
        }
        for (field, v) in [
            (
                "amounts.fund_recovered_fen",
                self.amounts.fund_recovered_fen,
            ),
            ("amounts.penalty_fen", self.amounts.penalty_fen),
            ("amounts.violations", self.amounts.violations),
        ] {
            if v < 0 {
                e.push(FieldError::new(field, "must not be negative"));
            }
        }
        if self.category == ResultCategory::FollowUpPending && self.follow_up.is_empty() {
            e.push(FieldError::new(
                "follow_up",
                "a problem pending follow-up must say what follows (e.g. case_opened)",
            ));
        }
        if self.category == ResultCategory::NoProblem
            && (self.amounts.penalty_fen > 0 || self.amounts.fund_recovered_fen > 0)
        {
            e.push(FieldError::new(
                "category",
                "no_problem cannot come with recovered funds or penalties",
            ));
        }
        super::registry::check_date(&mut e, "inspection_date", self.inspection_date);
        if self.inspection_date < inspection_start {
            e.push(FieldError::new(
                "inspection_date",
                format!("must not be before the inspection window starts ({inspection_start})"),
            ));
        }
        if let Some(r) = &self.correction_reason {
            super::registry::check_text(&mut e, "correction_reason", r, true, 1000);
        }
        e
    }

    /// The result without the correction reason, for comparing two versions.
    pub fn content(&self) -> ResultInput {
        ResultInput {
            correction_reason: None,
            ..self.clone()
        }
    }
}

/// Combines the departments' parts of one institution (department code, name, part) into
/// its result: the most serious category, amounts summed, follow-ups and item outcomes
/// joined, the findings of each part under its department's name, the latest inspection
/// date. `None` without parts.
pub fn combine(parts: &[(String, String, ResultInput)]) -> Option<ResultInput> {
    let first = parts.first()?;
    let mut out = ResultInput {
        category: first.2.category,
        findings: String::new(),
        item_outcomes: Vec::new(),
        amounts: Amounts::default(),
        follow_up: Vec::new(),
        inspection_date: first.2.inspection_date,
        correction_reason: None,
    };
    let mut findings = Vec::new();
    for (_, name, p) in parts {
        if p.category.severity() > out.category.severity() {
            out.category = p.category;
        }
        out.amounts.fund_recovered_fen = out
            .amounts
            .fund_recovered_fen
            .saturating_add(p.amounts.fund_recovered_fen);
        out.amounts.penalty_fen = out
            .amounts
            .penalty_fen
            .saturating_add(p.amounts.penalty_fen);
        out.amounts.violations = out.amounts.violations.saturating_add(p.amounts.violations);
        for f in &p.follow_up {
            if !out.follow_up.contains(f) {
                out.follow_up.push(*f);
            }
        }
        out.item_outcomes.extend(p.item_outcomes.iter().cloned());
        out.inspection_date = out.inspection_date.max(p.inspection_date);
        if !p.findings.trim().is_empty() {
            findings.push(format!("【{name}】{}", p.findings.trim()));
        }
    }
    out.findings = findings.join("\n");
    Some(out)
}

/// The calendar date in China (UTC+8, no daylight saving) of a stored RFC 3339 time.
pub fn china_date(rfc3339: &str) -> Option<NaiveDate> {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).ok()?;
    let offset = chrono::FixedOffset::east_opt(8 * 3600)?;
    Some(t.with_timezone(&offset).date_naive())
}

/// Today's date in China.
pub fn china_today() -> NaiveDate {
    let offset = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    chrono::Utc::now().with_timezone(&offset).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn china_dates_roll_over_at_16_utc() {
        assert_eq!(
            china_date("2025-11-04T15:59:59.000Z"),
            NaiveDate::from_ymd_opt(2025, 11, 4)
        );
        assert_eq!(
            china_date("2025-11-04T16:00:00.000Z"),
            NaiveDate::from_ymd_opt(2025, 11, 5)
        );
    }

    fn part(category: ResultCategory, fund: i64, penalty: i64, date: &str) -> ResultInput {
        ResultInput {
            category,
            findings: format!("{} found", category.code()),
            item_outcomes: vec![],
            amounts: Amounts {
                fund_recovered_fen: fund,
                penalty_fen: penalty,
                violations: i64::from(fund > 0),
            },
            follow_up: if category == ResultCategory::FollowUpPending {
                vec![FollowUp::CaseOpened]
            } else {
                vec![]
            },
            inspection_date: date.parse().unwrap(),
            correction_reason: None,
        }
    }

    #[test]
    fn combining_takes_the_most_serious_category_and_sums_amounts() {
        let parts = vec![
            (
                "medical_insurance".to_string(),
                "医疗保障局".to_string(),
                part(ResultCategory::Corrected, 120_000, 0, "2023-08-15"),
            ),
            (
                "health".into(),
                "卫生健康局".into(),
                part(ResultCategory::FollowUpPending, 0, 50_000, "2023-08-16"),
            ),
            (
                "market_regulation".into(),
                "市场监督管理局".into(),
                part(ResultCategory::NoProblem, 0, 0, "2023-08-14"),
            ),
        ];
        let c = combine(&parts).unwrap();
        assert_eq!(c.category, ResultCategory::FollowUpPending);
        assert_eq!(c.amounts.fund_recovered_fen, 120_000);
        assert_eq!(c.amounts.penalty_fen, 50_000);
        assert_eq!(c.amounts.violations, 1);
        assert_eq!(c.follow_up, vec![FollowUp::CaseOpened]);
        assert_eq!(c.inspection_date.to_string(), "2023-08-16");
        assert!(
            c.findings
                .starts_with("【医疗保障局】corrected found\n【卫生健康局】")
        );
        assert!(combine(&[]).is_none());
    }

    #[test]
    fn severity_orders_every_category_once() {
        let mut s: Vec<u8> = ResultCategory::ALL.iter().map(|c| c.severity()).collect();
        s.sort();
        s.dedup();
        assert_eq!(s.len(), ResultCategory::ALL.len());
        assert!(ResultCategory::Obstructed.severity() > ResultCategory::FollowUpPending.severity());
    }

    #[test]
    fn category_codes_are_distinct() {
        let mut codes: Vec<&str> = ResultCategory::ALL.iter().map(|c| c.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), 10);
        for c in ResultCategory::ALL {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.code()));
        }
    }
}
