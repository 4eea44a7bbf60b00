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

/// A type of violation, for the statistics tables (seed 002's table 2 counts 冒名就诊,
/// 挂床住院, 乱刷卡, 乱记账; seeds 001 and 000 name the rest). Codes are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ViolationType {
    /// 冒名就诊
    ImpersonatedVisit,
    /// 挂床住院
    PhantomInpatient,
    /// 乱刷卡
    CardMisuse,
    /// 乱记账
    FalseBookkeeping,
    /// 虚假住院
    FictitiousAdmission,
    /// 诱导参保人员住院
    InducedAdmission,
    /// 分解收费
    SplitCharging,
    /// 超标准收费
    OverStandardCharging,
    /// 重复收费
    DuplicateCharging,
    /// 串换药品、耗材和诊疗项目 / 套用项目收费
    ItemSubstitution,
    /// 不合理诊疗 / 过度医疗
    UnreasonableTreatment,
    /// 虚构医疗服务、虚记费用
    FictitiousServices,
    /// 伪造医疗文书票据
    ForgedDocuments,
    /// 盗刷社保卡、套现
    CardFraud,
    /// 其他
    Other,
}

impl ViolationType {
    pub const ALL: [ViolationType; 15] = [
        Self::ImpersonatedVisit,
        Self::PhantomInpatient,
        Self::CardMisuse,
        Self::FalseBookkeeping,
        Self::FictitiousAdmission,
        Self::InducedAdmission,
        Self::SplitCharging,
        Self::OverStandardCharging,
        Self::DuplicateCharging,
        Self::ItemSubstitution,
        Self::UnreasonableTreatment,
        Self::FictitiousServices,
        Self::ForgedDocuments,
        Self::CardFraud,
        Self::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::ImpersonatedVisit => "impersonated_visit",
            Self::PhantomInpatient => "phantom_inpatient",
            Self::CardMisuse => "card_misuse",
            Self::FalseBookkeeping => "false_bookkeeping",
            Self::FictitiousAdmission => "fictitious_admission",
            Self::InducedAdmission => "induced_admission",
            Self::SplitCharging => "split_charging",
            Self::OverStandardCharging => "over_standard_charging",
            Self::DuplicateCharging => "duplicate_charging",
            Self::ItemSubstitution => "item_substitution",
            Self::UnreasonableTreatment => "unreasonable_treatment",
            Self::FictitiousServices => "fictitious_services",
            Self::ForgedDocuments => "forged_documents",
            Self::CardFraud => "card_fraud",
            Self::Other => "other",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::ImpersonatedVisit => "冒名就诊",
            Self::PhantomInpatient => "挂床住院",
            Self::CardMisuse => "乱刷卡",
            Self::FalseBookkeeping => "乱记账",
            Self::FictitiousAdmission => "虚假住院",
            Self::InducedAdmission => "诱导住院",
            Self::SplitCharging => "分解收费",
            Self::OverStandardCharging => "超标准收费",
            Self::DuplicateCharging => "重复收费",
            Self::ItemSubstitution => "串换项目收费",
            Self::UnreasonableTreatment => "不合理诊疗",
            Self::FictitiousServices => "虚构医疗服务",
            Self::ForgedDocuments => "伪造医疗文书票据",
            Self::CardFraud => "盗刷社保卡",
            Self::Other => "其他",
        }
    }
}

/// One violation type found at an institution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViolationCount {
    pub violation: ViolationType,
    /// 违规例数: cases (medical records, or persons for insured persons).
    #[serde(default)]
    pub cases: i64,
    /// Amount involved, in fen.
    #[serde(default)]
    pub amount_fen: i64,
}

/// A form of handling an institution (处理形式). One result may have several (seed 001:
/// "因一个定点医疗机构有多种处理形式"). Codes are stable; `column` is the column of the
/// seed 001 monthly table it is counted in (5–12), 0 for 挂牌督办, which the table counts
/// apart (it is a way of supervising a case, not a handling of the institution).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HandlingForm {
    /// 约谈
    Interview,
    /// 限期整改
    Rectification,
    /// 追回（基金本金）
    Recovery,
    /// 违约金
    LiquidatedDamages,
    /// 暂停协议
    AgreementSuspended,
    /// 解除协议
    AgreementTerminated,
    /// 行政处罚
    AdministrativePenalty,
    /// 移送公安机关
    ReferredPolice,
    /// 移送纪检监察
    ReferredDiscipline,
    /// 移送其他部门
    ReferredOther,
    /// 挂牌督办
    Supervised,
}

impl HandlingForm {
    pub const ALL: [HandlingForm; 11] = [
        Self::Interview,
        Self::Rectification,
        Self::Recovery,
        Self::LiquidatedDamages,
        Self::AgreementSuspended,
        Self::AgreementTerminated,
        Self::AdministrativePenalty,
        Self::ReferredPolice,
        Self::ReferredDiscipline,
        Self::ReferredOther,
        Self::Supervised,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Interview => "interview",
            Self::Rectification => "rectification",
            Self::Recovery => "recovery",
            Self::LiquidatedDamages => "liquidated_damages",
            Self::AgreementSuspended => "agreement_suspended",
            Self::AgreementTerminated => "agreement_terminated",
            Self::AdministrativePenalty => "administrative_penalty",
            Self::ReferredPolice => "referred_police",
            Self::ReferredDiscipline => "referred_discipline",
            Self::ReferredOther => "referred_other",
            Self::Supervised => "supervised",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Interview => "约谈",
            Self::Rectification => "限期整改",
            Self::Recovery => "追回基金",
            Self::LiquidatedDamages => "收取违约金",
            Self::AgreementSuspended => "暂停协议",
            Self::AgreementTerminated => "解除协议",
            Self::AdministrativePenalty => "行政处罚",
            Self::ReferredPolice => "移送公安机关",
            Self::ReferredDiscipline => "移送纪检监察",
            Self::ReferredOther => "移送其他部门",
            Self::Supervised => "挂牌督办",
        }
    }

    /// The seed 001 table column (5–12) the form is counted in; 0: counted apart.
    /// 移送公安、纪检、其他部门 share column 12 (an institution counts once there).
    pub fn column(self) -> u8 {
        match self {
            Self::Interview => 5,
            Self::Rectification => 6,
            Self::Recovery => 7,
            Self::LiquidatedDamages => 8,
            Self::AgreementSuspended => 9,
            Self::AgreementTerminated => 10,
            Self::AdministrativePenalty => 11,
            Self::ReferredPolice | Self::ReferredDiscipline | Self::ReferredOther => 12,
            Self::Supervised => 0,
        }
    }
}

/// How an inspection was made (seed 002, table 3: 网上稽核、举报稽核、实地稽核). Named
/// `AuditMethod` in the OpenAPI document: `InspectionMethod` is the annual plan's
/// (现场/书面/委托第三方).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = AuditMethod)]
pub enum InspectionMethod {
    /// 网上稽核 (on the claims data)
    Online,
    /// 举报稽核 (following a tip)
    Tip,
    /// 实地稽核 (on site)
    OnSite,
}

impl InspectionMethod {
    pub const ALL: [InspectionMethod; 3] = [Self::Online, Self::Tip, Self::OnSite];

    pub fn code(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Tip => "tip",
            Self::OnSite => "on_site",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Online => "网上稽核",
            Self::Tip => "举报稽核",
            Self::OnSite => "实地稽核",
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
    /// 医保统筹基金: the fund principal recovered (issue 15). Absent on results recorded
    /// before it: see [`ResultInput::principal_fen`] for the mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fund_principal_fen: Option<i64>,
    /// 违约金: liquidated damages under the service agreement (issue 15). Part of
    /// `fund_recovered_fen` (seed 001: 追回金额 = 基金本金 + 违约金).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liquidated_damages_fen: Option<i64>,
}

/// A result as the lead department records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultInput {
    pub category: ResultCategory,
    /// What was found, in words.
    #[serde(default)]
    #[schema(
        max_length = 10000,
        pattern = "^(?:[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?)?$"
    )]
    pub findings: String,
    #[serde(default)]
    pub item_outcomes: Vec<ItemOutcome>,
    #[serde(default)]
    pub amounts: Amounts,
    #[serde(default)]
    pub follow_up: Vec<FollowUp>,
    #[schema(value_type = String, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub inspection_date: NaiveDate,
    /// Required when this replaces a published version: why it is corrected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub correction_reason: Option<String>,
    /// Violations by type (issue 15): cases (违规例数, medical records) and amount.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violation_types: Vec<ViolationCount>,
    /// How the institution was handled (issue 15): several forms per result. Absent on
    /// older results: see [`ResultInput::handling_forms`] for the mapping.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub handling: Vec<HandlingForm>,
    /// How the inspection was made (网上/举报/实地稽核, seed 002's table 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<InspectionMethod>,
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
        self.validate_vocabulary(&mut e);
        e
    }

    /// 医保统筹基金 (fund principal recovered). Mapping for results recorded without it:
    /// `fund_recovered_fen` less the liquidated damages (all of it when none are given):
    /// before issue 15 `fund_recovered_fen` was the fund recovered, with no damages apart.
    pub fn principal_fen(&self) -> i64 {
        self.amounts.fund_principal_fen.unwrap_or_else(|| {
            self.amounts
                .fund_recovered_fen
                .saturating_sub(self.damages_fen())
        })
    }

    /// 违约金 (liquidated damages); 0 when not given.
    pub fn damages_fen(&self) -> i64 {
        self.amounts.liquidated_damages_fen.unwrap_or(0)
    }

    /// 违规例数: the sum of the types' cases when types are given, else `amounts.violations`.
    pub fn violation_cases(&self) -> i64 {
        if self.violation_types.is_empty() {
            self.amounts.violations
        } else {
            self.violation_types
                .iter()
                .fold(0i64, |a, v| a.saturating_add(v.cases))
        }
    }

    /// The handling forms the statistics count: `handling` when given; for results
    /// recorded without it (before issue 15), derived from the old fields: category
    /// `corrected` → 限期整改; principal recovered or `fund_recovery_pending` → 追回;
    /// liquidated damages → 违约金; a penalty → 行政处罚; `referred_to_police` → 移送公安;
    /// `referred_to_department` → 移送其他部门 (`case_opened` maps to no form: opening a
    /// case is not yet a handling).
    pub fn handling_forms(&self) -> Vec<HandlingForm> {
        if !self.handling.is_empty() {
            return self.handling.clone();
        }
        let mut out = Vec::new();
        if self.category == ResultCategory::Corrected {
            out.push(HandlingForm::Rectification);
        }
        if self.principal_fen() > 0 || self.follow_up.contains(&FollowUp::FundRecoveryPending) {
            out.push(HandlingForm::Recovery);
        }
        if self.damages_fen() > 0 {
            out.push(HandlingForm::LiquidatedDamages);
        }
        if self.amounts.penalty_fen > 0 {
            out.push(HandlingForm::AdministrativePenalty);
        }
        if self.follow_up.contains(&FollowUp::ReferredToPolice) {
            out.push(HandlingForm::ReferredPolice);
        }
        if self.follow_up.contains(&FollowUp::ReferredToDepartment) {
            out.push(HandlingForm::ReferredOther);
        }
        out
    }

    /// The rules of the issue 15 fields (amounts add up, no form twice, no handling of
    /// an institution where nothing was found).
    fn validate_vocabulary(&self, e: &mut Vec<FieldError>) {
        for (field, v) in [
            (
                "amounts.fund_principal_fen",
                self.amounts.fund_principal_fen,
            ),
            (
                "amounts.liquidated_damages_fen",
                self.amounts.liquidated_damages_fen,
            ),
        ] {
            if v.is_some_and(|v| v < 0) {
                e.push(FieldError::new(field, "must not be negative"));
            }
        }
        if self.amounts.fund_principal_fen.is_some()
            || self.amounts.liquidated_damages_fen.is_some()
        {
            let sum = self
                .amounts
                .fund_principal_fen
                .unwrap_or(0)
                .saturating_add(self.damages_fen());
            if self.amounts.fund_principal_fen.is_some() && sum != self.amounts.fund_recovered_fen {
                e.push(FieldError::new(
                    "amounts.fund_recovered_fen",
                    format!(
                        "追回金额 includes the fund principal and the liquidated damages: must be {sum}, the sum of fund_principal_fen and liquidated_damages_fen"
                    ),
                ));
            } else if self.damages_fen() > self.amounts.fund_recovered_fen {
                e.push(FieldError::new(
                    "amounts.liquidated_damages_fen",
                    "must not exceed fund_recovered_fen, which includes it",
                ));
            }
        }
        for (i, v) in self.violation_types.iter().enumerate() {
            if self.violation_types[..i]
                .iter()
                .any(|p| p.violation == v.violation)
            {
                e.push(FieldError::new(
                    format!("violation_types[{i}].violation"),
                    "listed twice",
                ));
            }
            if v.cases < 0 {
                e.push(FieldError::new(
                    format!("violation_types[{i}].cases"),
                    "must not be negative",
                ));
            }
            if v.amount_fen < 0 {
                e.push(FieldError::new(
                    format!("violation_types[{i}].amount_fen"),
                    "must not be negative",
                ));
            }
        }
        if !self.violation_types.is_empty()
            && self.amounts.violations != 0
            && self.amounts.violations != self.violation_cases()
        {
            e.push(FieldError::new(
                "amounts.violations",
                format!(
                    "must be 0 or the sum of violation_types' cases ({})",
                    self.violation_cases()
                ),
            ));
        }
        for (i, h) in self.handling.iter().enumerate() {
            if self.handling[..i].contains(h) {
                e.push(FieldError::new(format!("handling[{i}]"), "listed twice"));
            }
        }
        if self.category == ResultCategory::NoProblem
            && (!self.handling.is_empty() || !self.violation_types.is_empty())
        {
            e.push(FieldError::new(
                "category",
                "no_problem cannot come with violations or handling forms",
            ));
        }
        if !self.handling.is_empty() {
            for (needed, form, field) in [
                (
                    self.principal_fen() > 0,
                    HandlingForm::Recovery,
                    "amounts.fund_principal_fen",
                ),
                (
                    self.damages_fen() > 0,
                    HandlingForm::LiquidatedDamages,
                    "amounts.liquidated_damages_fen",
                ),
                (
                    self.amounts.penalty_fen > 0,
                    HandlingForm::AdministrativePenalty,
                    "amounts.penalty_fen",
                ),
                (
                    self.follow_up.contains(&FollowUp::ReferredToPolice),
                    HandlingForm::ReferredPolice,
                    "follow_up",
                ),
            ] {
                if needed && !self.handling.contains(&form) {
                    e.push(FieldError::new(
                        "handling",
                        format!(
                            "{field} says {}, so handling must include {}",
                            form.label_zh(),
                            form.code()
                        ),
                    ));
                }
            }
        }
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
        violation_types: Vec::new(),
        handling: Vec::new(),
        method: None,
    };
    let mut findings = Vec::new();
    let (mut principal_or_damages, mut principal, mut damages) = (false, 0i64, 0i64);
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
        if p.amounts.fund_principal_fen.is_some() || p.amounts.liquidated_damages_fen.is_some() {
            principal_or_damages = true;
        }
        principal = principal.saturating_add(p.principal_fen());
        damages = damages.saturating_add(p.damages_fen());
        for v in &p.violation_types {
            match out
                .violation_types
                .iter_mut()
                .find(|x| x.violation == v.violation)
            {
                Some(x) => {
                    x.cases = x.cases.saturating_add(v.cases);
                    x.amount_fen = x.amount_fen.saturating_add(v.amount_fen);
                }
                None => out.violation_types.push(*v),
            }
        }
        for h in &p.handling {
            if !out.handling.contains(h) {
                out.handling.push(*h);
            }
        }
        if out.method.is_none() {
            out.method = p.method;
        }
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
    if principal_or_damages {
        out.amounts.fund_principal_fen = Some(principal);
        out.amounts.liquidated_damages_fen = Some(damages);
    }
    // A part that names no handling form still brings its derived ones (the old fields'
    // mapping), so the combined result says everything its parts said.
    if parts.iter().any(|(_, _, p)| !p.handling.is_empty()) {
        for (_, _, p) in parts {
            for h in p.handling_forms() {
                if !out.handling.contains(&h) {
                    out.handling.push(h);
                }
            }
        }
        out.handling.sort_by_key(|h| h.column());
    }
    Some(out)
}

/// 涉案金额 of a result, for the major-case rule: the violations' amounts when given,
/// else the fund recovered (what the institution took from the fund).
pub fn amount_involved(r: &ResultInput) -> i64 {
    let by_type = r
        .violation_types
        .iter()
        .fold(0i64, |a, v| a.saturating_add(v.amount_fen));
    by_type.max(r.amounts.fund_recovered_fen)
}

/// The calendar date in China (UTC+8, no daylight saving) of a stored RFC 3339 time.
pub fn china_date(rfc3339: &str) -> Option<NaiveDate> {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).ok()?;
    let offset = chrono::FixedOffset::east_opt(8 * 3600)?;
    Some(t.with_timezone(&offset).date_naive())
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
                ..Amounts::default()
            },
            follow_up: if category == ResultCategory::FollowUpPending {
                vec![FollowUp::CaseOpened]
            } else {
                vec![]
            },
            inspection_date: date.parse().unwrap(),
            correction_reason: None,
            violation_types: vec![],
            handling: vec![],
            method: None,
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
