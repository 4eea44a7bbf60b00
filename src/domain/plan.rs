//! An annual plan (抽查计划) as the lead department writes it: work groups (工作组) with
//! their populations and ratios or coverage goals, rounds with their windows, the rule
//! linking the rounds; and the pure arithmetic of how many each round of a group draws.
//!
//! A round's numbers are computed from the population *at the moment of sealing* (the
//! registry may change between creating the round's task and sealing it):
//! - `no_repeat`: a group (or risk-grade sub-group) draws `ceil(population × ratio)`, at
//!   least 1 when it has members (不免抽), of its members **not drawn in an earlier round**,
//!   capped by how many are left; `population` counts every active member, drawn or not,
//!   so both of seed 003's rounds draw 5 % of the same 7 + 72 (1 + 4);
//! - `coverage`: `needed = ceil(population × goal)` (`full`: the population); `remaining =
//!   needed − members drawn earlier`; round r of R draws `ceil(remaining / (R − r + 1))`,
//!   the last round `remaining`, capped by the undrawn members.

use super::DepartmentCode;
use super::registry::{RiskGrade, check_date, check_text};
use super::stored::StoredFilter;
use super::task::{Ratio, StratumFilter, TaskDepartment};
use crate::error::FieldError;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use utoipa::ToSchema;

/// How the rounds of a plan relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanRule {
    /// An institution drawn in an earlier round of the plan is not drawn again; each
    /// group has a per-round `ratio`.
    NoRepeat,
    /// Each group has a `goal` met exactly by the last round.
    Coverage,
}

/// 检查方式: 现场 (on site), 书面 (documentary), 委托第三方 (third party).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InspectionMethod {
    OnSite,
    Documentary,
    ThirdParty,
}

/// `"full"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Full {
    #[serde(rename = "full")]
    Full,
}

/// A coverage goal over the whole plan: a share of the population (`{"num":1,"den":2}`),
/// or `"full"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Goal {
    Full(Full),
    Share(Ratio),
}

impl Goal {
    fn ratio(self) -> Ratio {
        match self {
            Goal::Full(_) => Ratio { num: 1, den: 1 },
            Goal::Share(r) => r,
        }
    }
}

/// A ratio for the members of one risk grade (信用风险分类).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GradeRatio {
    pub grade: RiskGrade,
    pub ratio: Ratio,
}

/// A work group (工作组): its population and how much of it the plan inspects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanGroup {
    /// Becomes the stratum id of the round tasks.
    #[schema(pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f]{1,64}$")]
    pub id: String,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub name: String,
    /// 责任科室, free text (e.g. 医疗管理一科).
    #[serde(default)]
    #[schema(
        max_length = 200,
        pattern = "^(?:[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?)?$"
    )]
    pub responsible_unit: String,
    /// The population: the task stratum filter keys. A group's members are those its
    /// filter matches and no earlier group's does.
    #[serde(default)]
    pub filter: StratumFilter,
    /// `no_repeat`: the share drawn in each round, rounded up, at least 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<Ratio>,
    /// `coverage`: the share of the population inspected by the end of the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<Goal>,
    /// `no_repeat`: a ratio per risk grade (each grade present gets at least 1; grades
    /// not listed take `ratio`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risk_ratios: Vec<GradeRatio>,
    /// 检查内容.
    #[serde(default)]
    #[schema(
        max_length = 5000,
        pattern = "^(?:[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?)?$"
    )]
    pub check_contents: String,
}

/// A round's window (both dates inclusive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRound {
    /// The round's first day (required; a missing one is named in the answer).
    #[serde(default)]
    #[schema(value_type = String, format = Date, required = true)]
    pub start: Option<NaiveDate>,
    /// The round's last day (required).
    #[serde(default)]
    #[schema(value_type = String, format = Date, required = true)]
    pub end: Option<NaiveDate>,
}

/// A named phase of the plan (部署, 自查, 巡查整治, 总结 …), for the public.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanPhase {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub name: String,
    #[schema(value_type = String, format = Date)]
    pub start: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub end: NaiveDate,
}

/// A period of dates (both inclusive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Period {
    #[schema(value_type = String, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub start: NaiveDate,
    #[schema(value_type = String, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub end: NaiveDate,
}

/// An annual plan (抽查计划).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub title: String,
    #[schema(minimum = 2000, maximum = 2100)]
    pub year: i32,
    pub lead_department: DepartmentCode,
    /// Participating departments with their team sizes (the lead among them).
    pub departments: Vec<TaskDepartment>,
    /// Codes of inspection items of the participating departments.
    #[serde(default)]
    pub items: Vec<String>,
    #[schema(min_items = 1)]
    pub groups: Vec<PlanGroup>,
    /// One entry per round, in order, each with its window inside the plan's year.
    #[schema(min_items = 1)]
    pub rounds: Vec<PlanRound>,
    #[serde(default)]
    pub phases: Vec<PlanPhase>,
    pub rule: PlanRule,
    /// 交叉检查: no inspector inspects an institution of his own region.
    #[serde(default)]
    pub cross_region: bool,
    /// 轮换: an inspector never joins the team of an institution he inspected in the
    /// previous round of the plan or in the previous year (rotation pairs become conflicts
    /// of the round's pool, draw-spec B.6).
    #[serde(default)]
    pub rotation: bool,
    /// The period of expenses under review (seed 003: 2022-07-01 … 2023-05-31).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expense_period: Option<Period>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspection_method: Option<InspectionMethod>,
    /// The organization the plan belongs to (issue 12), e.g. `mi-1506`: absent on input,
    /// the caller's organization (an admin's: the lead department's default
    /// organization). Only that organization, one above it, or an admin writes the plan;
    /// its groups' populations are limited to the organization's region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]{1,63}$", example = "mi-1506")]
    pub organization: Option<String>,
    /// The region prefix of `organization`, filled in by the server (`""`: everywhere);
    /// not part of the input.
    #[serde(skip)]
    pub organization_region: Option<String>,
}

fn id_like(s: &str) -> bool {
    !s.is_empty()
        && s.chars().count() <= 64
        && !s.chars().any(|c| c.is_control() || c.is_whitespace())
}

fn check_ratio(e: &mut Vec<FieldError>, field: &str, r: Ratio, what: &str) {
    if r.den == 0 || r.den > 1_000_000 {
        e.push(FieldError::new(
            format!("{field}.den"),
            "must be between 1 and 1000000",
        ));
    } else if r.num > r.den {
        e.push(FieldError::new(
            field,
            format!("{what} above 100 % (num {} > den {})", r.num, r.den),
        ));
    } else if r.num == 0 {
        e.push(FieldError::new(
            format!("{field}.num"),
            format!("{what} of 0 draws nothing"),
        ));
    }
}

impl PlanInput {
    /// Every rule that needs no database (departments, items and populations are checked
    /// by the lifecycle).
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        check_text(&mut e, "title", &self.title, true, 200);
        if !(2000..=2100).contains(&self.year) {
            e.push(FieldError::new("year", "must be between 2000 and 2100"));
        }
        let mut codes = HashSet::new();
        for (i, d) in self.departments.iter().enumerate() {
            if !codes.insert(d.code.as_str()) {
                e.push(FieldError::new(
                    format!("departments[{i}].code"),
                    "listed twice",
                ));
            }
            if !(1..=20).contains(&d.team_size) {
                e.push(FieldError::new(
                    format!("departments[{i}].team_size"),
                    "must be between 1 and 20",
                ));
            }
            if let Some(m) = super::task::team_size_max_error(d, super::task::Protocol::V2) {
                e.push(FieldError::new(
                    format!("departments[{i}].team_size_max"),
                    m,
                ));
            }
        }
        if !self.departments.is_empty() && !codes.contains(self.lead_department.as_str()) {
            e.push(FieldError::new(
                "lead_department",
                "must be one of the participating departments",
            ));
        }
        if self.groups.is_empty() {
            e.push(FieldError::new("groups", "a plan needs at least one group"));
        }
        if self.groups.len() > 100 {
            e.push(FieldError::new("groups", "at most 100 groups"));
        }
        let mut ids = HashSet::new();
        for (i, g) in self.groups.iter().enumerate() {
            self.validate_group(&mut e, i, g, &mut ids);
        }
        self.validate_rounds(&mut e);
        for (i, p) in self.phases.iter().enumerate() {
            check_text(&mut e, &format!("phases[{i}].name"), &p.name, true, 100);
            self.check_window(&mut e, &format!("phases[{i}]"), p.start, p.end);
        }
        if let Some(p) = &self.expense_period {
            check_date(&mut e, "expense_period.start", p.start);
            check_date(&mut e, "expense_period.end", p.end);
            if p.start > p.end {
                e.push(FieldError::new(
                    "expense_period.end",
                    "must not be before start",
                ));
            }
        }
        e
    }

    fn validate_group(
        &self,
        e: &mut Vec<FieldError>,
        i: usize,
        g: &PlanGroup,
        ids: &mut HashSet<String>,
    ) {
        let f = |k: &str| format!("groups[{i}].{k}");
        if !id_like(&g.id) {
            e.push(FieldError::new(
                f("id"),
                "1–64 characters, no spaces or control characters",
            ));
        } else if !ids.insert(g.id.clone()) {
            e.push(FieldError::new(
                f("id"),
                format!("duplicate group id {}", g.id),
            ));
        }
        check_text(e, &f("name"), &g.name, true, 200);
        check_text(e, &f("responsible_unit"), &g.responsible_unit, false, 200);
        check_text(e, &f("check_contents"), &g.check_contents, false, 5000);
        g.filter.check(e, &f("filter"));
        match self.rule {
            PlanRule::NoRepeat => {
                if g.goal.is_some() {
                    e.push(FieldError::new(
                        f("goal"),
                        "a no_repeat plan gives each group a per-round ratio, not a goal",
                    ));
                }
                match g.ratio {
                    Some(r) => check_ratio(e, &f("ratio"), r, "a ratio"),
                    None => e.push(FieldError::new(
                        f("ratio"),
                        "required by rule no_repeat (the share drawn in each round)",
                    )),
                }
                let mut grades = HashSet::new();
                for (j, gr) in g.risk_ratios.iter().enumerate() {
                    let field = f(&format!("risk_ratios[{j}]"));
                    if !grades.insert(gr.grade) {
                        e.push(FieldError::new(
                            format!("{field}.grade"),
                            "grade listed twice",
                        ));
                    }
                    check_ratio(e, &format!("{field}.ratio"), gr.ratio, "a ratio");
                }
                if !g.risk_ratios.is_empty() && !g.filter.risk_grade.is_empty() {
                    e.push(FieldError::new(
                        f("risk_ratios"),
                        "risk_ratios split the group by grade; do not also filter by risk_grade",
                    ));
                }
            }
            PlanRule::Coverage => {
                if g.ratio.is_some() || !g.risk_ratios.is_empty() {
                    e.push(FieldError::new(
                        f("ratio"),
                        "a coverage plan gives each group a goal, not per-round ratios",
                    ));
                }
                match g.goal {
                    Some(Goal::Share(r)) => check_ratio(e, &f("goal"), r, "a goal"),
                    Some(Goal::Full(_)) => {}
                    None => e.push(FieldError::new(
                        f("goal"),
                        "required by rule coverage ({\"num\":1,\"den\":2} or \"full\")",
                    )),
                }
            }
        }
    }

    fn check_window(&self, e: &mut Vec<FieldError>, field: &str, start: NaiveDate, end: NaiveDate) {
        if start.year() != self.year {
            e.push(FieldError::new(
                format!("{field}.start"),
                format!("must be in the plan's year {}", self.year),
            ));
        }
        if end.year() != self.year {
            e.push(FieldError::new(
                format!("{field}.end"),
                format!("must be in the plan's year {}", self.year),
            ));
        }
        if start > end {
            e.push(FieldError::new(
                format!("{field}.end"),
                "must not be before start",
            ));
        }
    }

    fn validate_rounds(&self, e: &mut Vec<FieldError>) {
        if self.rounds.is_empty() {
            e.push(FieldError::new(
                "rounds",
                "a plan needs at least one round, each with its window {start, end}",
            ));
        }
        if self.rounds.len() > 366 {
            e.push(FieldError::new("rounds", "at most 366 rounds"));
        }
        let mut previous_end: Option<NaiveDate> = None;
        for (i, r) in self.rounds.iter().enumerate() {
            let (Some(start), Some(end)) = (r.start, r.end) else {
                for (k, v) in [("start", r.start), ("end", r.end)] {
                    if v.is_none() {
                        e.push(FieldError::new(
                            format!("rounds[{i}].{k}"),
                            "every round needs its window (start and end dates)",
                        ));
                    }
                }
                previous_end = None;
                continue;
            };
            self.check_window(e, &format!("rounds[{i}]"), start, end);
            if let Some(p) = previous_end
                && start <= p
            {
                e.push(FieldError::new(
                    format!("rounds[{i}].start"),
                    format!("overlaps the previous round, which ends on {p}; rounds are in order and do not overlap"),
                ));
            }
            previous_end = Some(end);
        }
    }

    /// The window of round `r` (from 1).
    pub fn window(&self, r: u32) -> Option<(NaiveDate, NaiveDate)> {
        let round = self.rounds.get((r as usize).checked_sub(1)?)?;
        Some((round.start?, round.end?))
    }

    /// The strata of every round task, in priority order: one per group, or, for a group
    /// with risk ratios, one per listed grade (`<group>-<grade>`) and one for the other
    /// grades (`<group>-other`) when the listed ones do not cover A–D.
    pub fn layout(&self) -> Vec<Slot> {
        let mut out = Vec::new();
        for (gi, g) in self.groups.iter().enumerate() {
            if g.risk_ratios.is_empty() {
                out.push(Slot {
                    id: g.id.clone(),
                    group: gi,
                    filter: g.filter.clone(),
                    ratio: g.ratio,
                });
                continue;
            }
            let mut listed = Vec::new();
            for gr in &g.risk_ratios {
                listed.push(gr.grade);
                let mut filter = g.filter.clone();
                filter.risk_grade = vec![gr.grade];
                out.push(Slot {
                    id: format!("{}-{}", g.id, gr.grade.as_str()),
                    group: gi,
                    filter,
                    ratio: Some(gr.ratio),
                });
            }
            let rest: Vec<RiskGrade> = [RiskGrade::A, RiskGrade::B, RiskGrade::C, RiskGrade::D]
                .into_iter()
                .filter(|x| !listed.contains(x))
                .collect();
            if !rest.is_empty() {
                let mut filter = g.filter.clone();
                filter.risk_grade = rest;
                out.push(Slot {
                    id: format!("{}-other", g.id),
                    group: gi,
                    filter,
                    ratio: g.ratio,
                });
            }
        }
        out
    }

    /// How many each slot of `layout()` draws in round `r` (from 1), given each slot's
    /// population now (ids, an institution in at most one slot) and the institutions drawn
    /// in earlier rounds of the plan.
    pub fn round_counts(
        &self,
        r: u32,
        populations: &[Vec<String>],
        drawn_before: &HashSet<String>,
    ) -> Vec<u64> {
        let layout = self.layout();
        let undrawn: Vec<u64> = populations
            .iter()
            .map(|p| p.iter().filter(|id| !drawn_before.contains(*id)).count() as u64)
            .collect();
        match self.rule {
            PlanRule::NoRepeat => layout
                .iter()
                .zip(populations)
                .zip(&undrawn)
                .map(|((slot, pop), &left)| {
                    let n = pop.len() as u64;
                    let ratio = slot.ratio.unwrap_or(Ratio { num: 0, den: 1 });
                    let k = ceil_ratio(n, ratio).max(u64::from(n > 0));
                    k.min(left)
                })
                .collect(),
            PlanRule::Coverage => {
                let rounds = self.rounds.len() as u64;
                let left_rounds = rounds.saturating_sub(u64::from(r)) + 1;
                layout
                    .iter()
                    .zip(populations)
                    .zip(&undrawn)
                    .map(|((slot, pop), &left)| {
                        let g = &self.groups[slot.group];
                        let n = pop.len() as u64;
                        let goal = g.goal.map_or(Ratio { num: 1, den: 1 }, Goal::ratio);
                        let needed = ceil_ratio(n, goal);
                        let done = n - left;
                        let remaining = needed.saturating_sub(done);
                        remaining.div_ceil(left_rounds.max(1)).min(left)
                    })
                    .collect()
            }
        }
    }

    /// Each group's coverage target over the plan for a population of `n`: `coverage`:
    /// `ceil(n × goal)`; `no_repeat`: what the rounds draw at most (R × the per-round count).
    pub fn goal_count(&self, group: usize, n: u64) -> u64 {
        let g = &self.groups[group];
        match self.rule {
            PlanRule::Coverage => {
                ceil_ratio(n, g.goal.map_or(Ratio { num: 1, den: 1 }, Goal::ratio))
            }
            PlanRule::NoRepeat => {
                let per = g
                    .ratio
                    .map_or(0, |r| ceil_ratio(n, r))
                    .max(u64::from(n > 0));
                (per * self.rounds.len() as u64).min(n)
            }
        }
    }
}

/// One stratum of the round tasks.
#[derive(Debug, Clone)]
pub struct Slot {
    pub id: String,
    pub group: usize,
    pub filter: StratumFilter,
    pub ratio: Option<Ratio>,
}

/// `ceil(n × num / den)`.
pub fn ceil_ratio(n: u64, r: Ratio) -> u64 {
    if r.den == 0 {
        return 0;
    }
    let v = (u128::from(n) * u128::from(r.num)).div_ceil(u128::from(r.den));
    v.min(u128::from(u64::MAX)) as u64
}

/// Where a plan is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanState {
    /// Being written; edits with `If-Match`.
    Draft,
    /// Public and immutable; changed only by amendments.
    Published,
}

impl PlanState {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanState::Draft => "draft",
            PlanState::Published => "published",
        }
    }
    pub fn parse(s: &str) -> Self {
        if s == "published" {
            PlanState::Published
        } else {
            PlanState::Draft
        }
    }
}

// ---- the stored form ----

/// The version of the stored form written now.
pub const STORED_PLAN_VERSION: u32 = 1;

fn v1() -> u32 {
    1
}

/// The tolerant, versioned form plan rows are written in (unknown fields ignored, new
/// fields defaulted), so the API type can change without breaking rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredPlan {
    #[serde(default = "v1")]
    pub stored_version: u32,
    pub title: String,
    pub year: i32,
    pub lead_department: DepartmentCode,
    #[serde(default)]
    pub departments: Vec<StoredPlanDepartment>,
    #[serde(default)]
    pub items: Vec<String>,
    #[serde(default)]
    pub groups: Vec<StoredGroup>,
    #[serde(default)]
    pub rounds: Vec<StoredWindow>,
    #[serde(default)]
    pub phases: Vec<StoredPhase>,
    pub rule: PlanRule,
    #[serde(default)]
    pub cross_region: bool,
    #[serde(default)]
    pub rotation: bool,
    #[serde(default)]
    pub expense_period: Option<StoredWindow>,
    #[serde(default)]
    pub inspection_method: Option<InspectionMethod>,
    /// The plan's organization and its region prefix; absent on plans written before
    /// plans had organizations: the lead department's default organization (everywhere).
    #[serde(default)]
    pub organization: Option<String>,
    #[serde(default)]
    pub organization_region: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredPlanDepartment {
    pub code: DepartmentCode,
    pub team_size: u64,
    /// A team size range (B.14); absent on plans written before ranges and for fixed sizes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_size_max: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredFraction {
    pub num: u64,
    pub den: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredGroup {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub responsible_unit: String,
    #[serde(default)]
    pub filter: StoredFilter,
    #[serde(default)]
    pub ratio: Option<StoredFraction>,
    /// `null`, `"full"` or `{num, den}`.
    #[serde(default)]
    pub goal: Option<serde_json::Value>,
    #[serde(default)]
    pub risk_ratios: Vec<StoredGradeRatio>,
    #[serde(default)]
    pub check_contents: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredGradeRatio {
    pub grade: RiskGrade,
    pub ratio: StoredFraction,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredWindow {
    #[serde(default)]
    pub start: Option<NaiveDate>,
    #[serde(default)]
    pub end: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredPhase {
    #[serde(default)]
    pub name: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

fn fraction(r: Ratio) -> StoredFraction {
    StoredFraction {
        num: r.num,
        den: r.den,
    }
}

fn ratio(f: StoredFraction) -> Ratio {
    Ratio {
        num: f.num,
        den: f.den,
    }
}

fn stored_filter(f: StratumFilter) -> StoredFilter {
    StoredFilter {
        kind: f.kind,
        level: f.level,
        ownership: f.ownership,
        risk_grade: f.risk_grade,
        tags: f.tags,
        region_prefix: f.region_prefix,
    }
}

fn filter(f: StoredFilter) -> StratumFilter {
    StratumFilter {
        kind: f.kind,
        level: f.level,
        ownership: f.ownership,
        risk_grade: f.risk_grade,
        tags: f.tags,
        region_prefix: f.region_prefix,
    }
}

impl From<PlanInput> for StoredPlan {
    fn from(p: PlanInput) -> Self {
        Self {
            stored_version: STORED_PLAN_VERSION,
            title: p.title,
            year: p.year,
            lead_department: p.lead_department,
            departments: p
                .departments
                .into_iter()
                .map(|d| StoredPlanDepartment {
                    code: d.code,
                    team_size: d.team_size,
                    team_size_max: d.team_size_max,
                })
                .collect(),
            items: p.items,
            groups: p
                .groups
                .into_iter()
                .map(|g| StoredGroup {
                    id: g.id,
                    name: g.name,
                    responsible_unit: g.responsible_unit,
                    filter: stored_filter(g.filter),
                    ratio: g.ratio.map(fraction),
                    goal: g.goal.and_then(|x| serde_json::to_value(x).ok()),
                    risk_ratios: g
                        .risk_ratios
                        .into_iter()
                        .map(|r| StoredGradeRatio {
                            grade: r.grade,
                            ratio: fraction(r.ratio),
                        })
                        .collect(),
                    check_contents: g.check_contents,
                })
                .collect(),
            rounds: p
                .rounds
                .into_iter()
                .map(|r| StoredWindow {
                    start: r.start,
                    end: r.end,
                })
                .collect(),
            phases: p
                .phases
                .into_iter()
                .map(|x| StoredPhase {
                    name: x.name,
                    start: x.start,
                    end: x.end,
                })
                .collect(),
            rule: p.rule,
            cross_region: p.cross_region,
            rotation: p.rotation,
            expense_period: p.expense_period.map(|x| StoredWindow {
                start: Some(x.start),
                end: Some(x.end),
            }),
            inspection_method: p.inspection_method,
            organization: p.organization,
            organization_region: p.organization_region,
        }
    }
}

impl From<StoredPlan> for PlanInput {
    fn from(s: StoredPlan) -> Self {
        let default_organization = s.lead_department.as_str().to_string();
        Self {
            title: s.title,
            year: s.year,
            lead_department: s.lead_department,
            departments: s
                .departments
                .into_iter()
                .map(|d| TaskDepartment {
                    code: d.code,
                    team_size: d.team_size,
                    team_size_max: d.team_size_max,
                })
                .collect(),
            items: s.items,
            groups: s
                .groups
                .into_iter()
                .map(|g| PlanGroup {
                    id: g.id,
                    name: g.name,
                    responsible_unit: g.responsible_unit,
                    filter: filter(g.filter),
                    ratio: g.ratio.map(ratio),
                    goal: g.goal.and_then(|v| serde_json::from_value(v).ok()),
                    risk_ratios: g
                        .risk_ratios
                        .into_iter()
                        .map(|r| GradeRatio {
                            grade: r.grade,
                            ratio: ratio(r.ratio),
                        })
                        .collect(),
                    check_contents: g.check_contents,
                })
                .collect(),
            rounds: s
                .rounds
                .into_iter()
                .map(|r| PlanRound {
                    start: r.start,
                    end: r.end,
                })
                .collect(),
            phases: s
                .phases
                .into_iter()
                .map(|x| PlanPhase {
                    name: x.name,
                    start: x.start,
                    end: x.end,
                })
                .collect(),
            rule: s.rule,
            cross_region: s.cross_region,
            rotation: s.rotation,
            expense_period: s.expense_period.and_then(|w| {
                Some(Period {
                    start: w.start?,
                    end: w.end?,
                })
            }),
            inspection_method: s.inspection_method,
            organization: s.organization.or(Some(default_organization)),
            organization_region: s.organization_region.or_else(|| Some(String::new())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(rule: &str, groups: serde_json::Value, rounds: usize) -> PlanInput {
        let windows: Vec<_> = (0..rounds)
            .map(|i| {
                serde_json::json!({"start": format!("2023-{:02}-01", i + 1), "end": format!("2023-{:02}-28", i + 1)})
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "title": "计划", "year": 2023, "lead_department": "medical_insurance",
            "departments": [{"code": "medical_insurance", "team_size": 2}],
            "groups": groups, "rounds": windows, "rule": rule,
        }))
        .unwrap()
    }

    fn ids(prefix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i:05}")).collect()
    }

    #[test]
    fn seed_003_draws_five_percent_of_the_same_population_in_each_round() {
        let p = plan(
            "no_repeat",
            serde_json::json!([
                {"id": "h", "name": "医院", "ratio": {"num": 5, "den": 100}},
                {"id": "p", "name": "药店", "ratio": {"num": 5, "den": 100}}]),
            2,
        );
        assert!(p.validate().is_empty(), "{:?}", p.validate());
        let pops = vec![ids("h", 7), ids("p", 72)];
        assert_eq!(p.round_counts(1, &pops, &HashSet::new()), vec![1, 4]);
        let drawn: HashSet<String> = ["h00000", "p00000", "p00001", "p00002", "p00003"]
            .map(String::from)
            .into();
        assert_eq!(p.round_counts(2, &pops, &drawn), vec![1, 4]);
        // Nearly exhausted: capped by what is left.
        let all_but_one: HashSet<String> = ids("h", 6).into_iter().collect();
        assert_eq!(p.round_counts(2, &pops, &all_but_one)[0], 1);
        let all: HashSet<String> = ids("h", 7).into_iter().collect();
        assert_eq!(p.round_counts(2, &pops, &all)[0], 0);
    }

    #[test]
    fn coverage_meets_each_goal_exactly_by_the_last_round() {
        for (goal, n, expected) in [
            (serde_json::json!({"num": 1, "den": 2}), 37u64, 19u64),
            (serde_json::json!({"num": 1, "den": 3}), 100, 34),
            (serde_json::json!("full"), 11, 11),
            (serde_json::json!({"num": 1, "den": 2}), 1, 1),
        ] {
            for rounds in 1..=4usize {
                let p = plan(
                    "coverage",
                    serde_json::json!([{"id": "g", "name": "组", "goal": goal}]),
                    rounds,
                );
                assert!(p.validate().is_empty(), "{:?}", p.validate());
                let pop = vec![ids("x", n as usize)];
                let mut drawn = HashSet::new();
                for r in 1..=rounds as u32 {
                    let k = p.round_counts(r, &pop, &drawn)[0];
                    let undrawn: Vec<String> = pop[0]
                        .iter()
                        .filter(|i| !drawn.contains(*i))
                        .take(k as usize)
                        .cloned()
                        .collect();
                    drawn.extend(undrawn);
                }
                assert_eq!(drawn.len() as u64, expected, "{goal} of {n} in {rounds}");
            }
        }
    }

    #[test]
    fn risk_ratios_split_a_group_and_sample_every_present_grade() {
        let p = plan(
            "no_repeat",
            serde_json::json!([{"id": "g", "name": "组", "ratio": {"num": 1, "den": 10},
                "risk_ratios": [{"grade": "A", "ratio": {"num": 5, "den": 100}},
                                {"grade": "D", "ratio": {"num": 60, "den": 100}}]}]),
            1,
        );
        let ids_: Vec<String> = p.layout().into_iter().map(|s| s.id).collect();
        assert_eq!(ids_, ["g-A", "g-D", "g-other"]);
        let pops = vec![ids("a", 3), ids("d", 5), ids("o", 40)];
        assert_eq!(p.round_counts(1, &pops, &HashSet::new()), vec![1, 3, 4]);
    }

    #[test]
    fn bad_plans_are_refused_naming_the_field() {
        let fields =
            |p: &PlanInput| -> Vec<String> { p.validate().into_iter().map(|e| e.field).collect() };
        let over = plan(
            "coverage",
            serde_json::json!([{"id": "g", "name": "组", "goal": {"num": 3, "den": 2}}]),
            2,
        );
        assert_eq!(fields(&over), ["groups[0].goal"]);
        let dup = plan(
            "coverage",
            serde_json::json!([{"id": "g", "name": "组", "goal": "full"}, {"id": "g", "name": "组2", "goal": "full"}]),
            2,
        );
        assert_eq!(fields(&dup), ["groups[1].id"]);
        let mut no_window = plan(
            "coverage",
            serde_json::json!([{"id": "g", "name": "组", "goal": "full"}]),
            2,
        );
        no_window.rounds[1].end = None;
        assert_eq!(fields(&no_window), ["rounds[1].end"]);
        no_window.rounds.clear();
        assert_eq!(fields(&no_window), ["rounds"]);
        let mut overlap = plan(
            "coverage",
            serde_json::json!([{"id": "g", "name": "组", "goal": "full"}]),
            2,
        );
        overlap.rounds[1].start = NaiveDate::from_ymd_opt(2023, 1, 20);
        assert_eq!(fields(&overlap), ["rounds[1].start"]);
        overlap.rounds[1].start = NaiveDate::from_ymd_opt(2024, 3, 1);
        assert!(fields(&overlap).contains(&"rounds[1].start".to_string()));
    }

    #[test]
    fn the_stored_form_reads_back_what_was_written() {
        let p = plan(
            "coverage",
            serde_json::json!([{"id": "g", "name": "组", "goal": {"num": 1, "den": 2}},
                               {"id": "h", "name": "组", "goal": "full"}]),
            3,
        );
        // A row written before plans had organizations belongs to the lead department's
        // default organization (everywhere).
        let json = serde_json::to_string(&StoredPlan::from(p.clone())).unwrap();
        let old: PlanInput = serde_json::from_str::<StoredPlan>(&json).unwrap().into();
        assert_eq!(old.organization.as_deref(), Some("medical_insurance"));
        assert_eq!(old.organization_region.as_deref(), Some(""));
        let mut p = p;
        p.organization = Some("mi-1506".into());
        p.organization_region = Some("1506".into());
        let json = serde_json::to_string(&StoredPlan::from(p.clone())).unwrap();
        let back: PlanInput = serde_json::from_str::<StoredPlan>(&json).unwrap().into();
        assert_eq!(back, p);
        // A row with a field this version does not know still reads.
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["future_field"] = serde_json::json!(1);
        assert!(serde_json::from_value::<StoredPlan>(v).is_ok());
    }
}
