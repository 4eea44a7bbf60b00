//! A joint 双随机 task as the lead department configures it, and the rules it must meet
//! before it can be stored.

use super::DepartmentCode;
use super::codes::parse_region_prefix;
use super::registry::{InstitutionKind, InstitutionStatus, Level, Ownership, RiskGrade};
use crate::error::FieldError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Which institutions a stratum covers. Each key lists accepted values (any of); keys
/// combine with and. Only active institutions are ever drawn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StratumFilter {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kind: Vec<InstitutionKind>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub level: Vec<Level>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ownership: Vec<Ownership>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risk_grade: Vec<RiskGrade>,
    /// Institutions carrying any of these tags (each 1–64 characters, listed once).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<super::registry::Label>, max_items = 32)]
    pub tags: Vec<String>,
    /// Region code prefixes (2, 4 or 6 digits).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub region_prefix: Vec<String>,
}

impl StratumFilter {
    /// The rules of a filter that need no database, with fields named under `at`
    /// (`strata[0].filter`, `groups[1].filter`): region prefixes of 2, 4 or 6 digits, tags
    /// by the registry's text rule, each value once.
    pub fn check(&self, e: &mut Vec<FieldError>, at: &str) {
        for (j, p) in self.region_prefix.iter().enumerate() {
            if let Err(r) = parse_region_prefix(p) {
                e.push(FieldError::new(format!("{at}.region_prefix[{j}]"), r));
            }
        }
        if self.tags.len() > 32 {
            e.push(FieldError::new(format!("{at}.tags"), "at most 32 tags"));
        }
        for (j, t) in self.tags.iter().enumerate() {
            let field = format!("{at}.tags[{j}]");
            super::registry::check_text(e, &field, t, true, 64);
            if self.tags[..j].contains(t) {
                e.push(FieldError::new(field, format!("tag '{t}' listed twice")));
            }
        }
    }

    /// The registry filter selecting the active institutions this stratum covers.
    pub fn to_store(&self) -> super::filter::InstitutionFilter {
        fn names<T: Copy>(v: &[T], f: fn(T) -> &'static str) -> Vec<String> {
            v.iter().map(|x| f(*x).to_string()).collect()
        }
        super::filter::InstitutionFilter {
            kind: names(&self.kind, InstitutionKind::as_str),
            level: names(&self.level, Level::as_str),
            ownership: names(&self.ownership, Ownership::as_str),
            risk_grade: names(&self.risk_grade, RiskGrade::as_str),
            status: vec![InstitutionStatus::Active.as_str().to_string()],
            region_prefix: self
                .region_prefix
                .iter()
                .map(|p| super::filter::RegionPrefix::validated(p.clone()))
                .collect(),
            tags: self.tags.clone(),
            q: None,
            credit_code: None,
        }
    }
}

/// An exact fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Ratio {
    #[schema(maximum = 1_000_000)]
    pub num: u64,
    /// At least `num`, at most 1,000,000.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub den: u64,
}

/// A group of institutions drawn at its own ratio, in priority order: an institution
/// matching several strata belongs to the first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StratumConfig {
    /// 1–64 characters without blanks or control characters.
    #[schema(pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f]{1,64}$")]
    pub id: String,
    #[serde(default)]
    pub filter: StratumFilter,
    /// Share to draw, rounded up: `ceil(n × num / den)`.
    pub ratio: Ratio,
    /// At least this many (as far as the stratum has members).
    #[serde(default)]
    pub min: u64,
    /// At most this many.
    #[serde(default)]
    pub max: Option<u64>,
    /// A task over a record list (`list`, issue 14): the records of this stratum are those
    /// whose value in each named column is one of the given values (text as written,
    /// integers in decimal, dates `YYYY-MM-DD`); `{}` takes every record. A record matching
    /// several strata belongs to the first by stratum id. A fixed count is
    /// `ratio: {num: 0, den: 1}, min: k, max: k` (a stratum with fewer records gives all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<std::collections::BTreeMap<String, Vec<String>>>)]
    pub records: Option<std::collections::BTreeMap<String, Vec<String>>>,
    /// A sample over a list: at most `max` drawn records per value of `column`
    /// (docs/draw-spec.md B.15). A cap that makes the count impossible is refused at seal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<super::list::StratumCap>,
    /// A sample over a list: the stratum is drawn group by group, one group per value of
    /// this attribute column, each group taking the stratum's count (ratio/min/max) on its
    /// own (B.16), e.g. 10 records in each institution. 1–100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f,:]{1,100}$")]
    pub group_by: Option<String>,
}

/// A participating department and how many inspectors it sends to each institution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskDepartment {
    pub code: DepartmentCode,
    /// Inspectors per institution; the minimum when `team_size_max` is given.
    #[schema(minimum = 1, maximum = 20)]
    pub team_size: u64,
    /// suiji-draw/2 only: a range of team sizes (e.g. 1–2 per department). The draw takes
    /// `team_size` and adds members up to this where enough inspectors are eligible
    /// (docs/draw-spec.md B.14). At least `team_size`, at most 20; absent: a fixed size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 20)]
    pub team_size_max: Option<u64>,
}

/// What is wrong with a department's `team_size_max`, if anything: it must lie between
/// its `team_size` and 20, and only suiji-draw/2 has ranges (plans always draw with /2).
pub fn team_size_max_error(d: &TaskDepartment, protocol: Protocol) -> Option<String> {
    let m = d.team_size_max?;
    if protocol != Protocol::V2 {
        return Some("a team size range needs protocol suiji-draw/2".into());
    }
    (m < d.team_size || m > crate::draw::v2::TEAM_SIZE_MAX_LIMIT).then(|| {
        format!(
            "must be between team_size ({}) and {}",
            d.team_size,
            crate::draw::v2::TEAM_SIZE_MAX_LIMIT
        )
    })
}

/// A planned source of randomness, fixed before sealing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntropySource {
    /// `department:<code>` (the department commits to a secret before sealing) or
    /// `beacon:<name>` (a public random value that does not exist yet at sealing).
    #[schema(pattern = "^(?:department:[a-z][a-z0-9_]{1,31}|beacon:[a-z0-9-]{1,64})$")]
    pub source: String,
    /// For a beacon: which round or date will be used, e.g. `round 3500000`.
    #[serde(default)]
    #[schema(
        max_length = 200,
        pattern = "^(?:[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?)?$"
    )]
    pub note: Option<String>,
    /// suiji-draw/2: the drand quicknet round of `beacon:drand-quicknet`, published after
    /// the reveal deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<u64>,
}

/// The draw protocol of a task: `suiji-draw/2` for new tasks; `suiji-draw/1` kept for
/// tasks drawn before /2 and for whoever asks for it explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Protocol {
    #[serde(rename = "suiji-draw/1")]
    V1,
    #[serde(rename = "suiji-draw/2")]
    V2,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::V1 => "suiji-draw/1",
            Protocol::V2 => "suiji-draw/2",
        }
    }
}

/// The configuration of a joint task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskInput {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub title: String,
    #[schema(minimum = 2000, maximum = 2100)]
    pub year: i32,
    /// Round within the year (抽查轮次), from 1.
    #[schema(minimum = 1, maximum = 366)]
    pub round: u32,
    /// 牵头部门: its inspector leads every team.
    pub lead_department: DepartmentCode,
    pub departments: Vec<TaskDepartment>,
    /// At least one for a random task; a targeted task leaves it out (or gives exactly
    /// the one stratum `targeted` at 1/1 that the server puts in).
    #[serde(default)]
    pub strata: Vec<StratumConfig>,
    /// True: no inspector inspects an institution of his own region (交叉检查).
    #[serde(default)]
    pub cross_region: bool,
    /// Null: spread evenly (`ceil(selections × team_size / inspectors)`).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub max_assignments_per_inspector: Option<u64>,
    #[schema(value_type = String, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub inspection_start: NaiveDate,
    #[schema(value_type = String, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub inspection_end: NaiveDate,
    /// Codes of inspection items (抽查事项) of the participating departments.
    #[serde(default)]
    pub items: Vec<String>,
    /// At least one source of randomness.
    #[schema(min_items = 1)]
    pub entropy_plan: Vec<EntropySource>,
    /// The draw protocol; absent on input: `suiji-draw/2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// suiji-draw/2: reveals are refused after this instant (RFC 3339); departments that
    /// have not revealed by then are forfeited (with a beacon). Required for /2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reveal_deadline: Option<chrono::DateTime<chrono::Utc>>,
    /// Results are due this many working days after `inspection_end` (default 20).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 250)]
    pub results_within_working_days: Option<u32>,
    /// Publish the drawn list by this date (default: `inspection_start`).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub selection_publish_by: Option<NaiveDate>,
    /// The organization the task belongs to (its code, of the lead department): its
    /// region bounds the institutions and inspectors of the pool. Absent on input: the
    /// caller's organization (an admin's: the lead department's default organization).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]{1,63}$", example = "mi-150626")]
    pub organization: Option<String>,
    /// The region prefix of `organization`, filled in by the server when the task is
    /// created (`""`: everywhere); not part of the input.
    #[serde(skip)]
    pub organization_region: Option<String>,
    /// A sample of records (issue 14): the id of the record list the strata draw from
    /// (each stratum then selects records with `records`). suiji-draw/2, without teams;
    /// the snapshot and the bundle name records only by their salted hashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    /// `random` (absent: drawn, 双随机) or `targeted` (定向: the institutions are named
    /// in `targets`, the teams are still drawn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<super::targeted::TaskMode>,
    /// A targeted task's named institutions, each with its reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<super::targeted::NamedTarget>,
    /// A re-check task (`mode: recheck`): which completed inspections it draws from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recheck: Option<super::recheck::RecheckSource>,
}

fn id_like(s: &str) -> bool {
    !s.is_empty()
        && s.chars().count() <= 64
        && !s.chars().any(|c| c.is_control() || c.is_whitespace())
}

impl TaskInput {
    /// Every rule that needs no database; the store checks departments and items.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        super::registry::check_text(&mut e, "title", &self.title, true, 200);
        if !(2000..=2100).contains(&self.year) {
            e.push(FieldError::new("year", "must be between 2000 and 2100"));
        }
        super::registry::check_date(&mut e, "inspection_start", self.inspection_start);
        super::registry::check_date(&mut e, "inspection_end", self.inspection_end);
        if let Some(d) = self.selection_publish_by {
            super::registry::check_date(&mut e, "selection_publish_by", d);
        }
        if !(1..=366).contains(&self.round) {
            e.push(FieldError::new("round", "must be between 1 and 366"));
        }
        // suiji-draw/2 samples without teams (re-check, record samples): no departments;
        // the lead department still owns the task (creates, seals, draws, publishes).
        let teamless = self.departments.is_empty() && self.protocol() == Protocol::V2;
        if self.departments.is_empty() && !teamless {
            e.push(FieldError::new(
                "departments",
                "at least one department (suiji-draw/1; a suiji-draw/2 sample may have none)",
            ));
        }
        let mut total: u64 = 0;
        for (i, d) in self.departments.iter().enumerate() {
            if !(1..=20).contains(&d.team_size) {
                e.push(FieldError::new(
                    format!("departments[{i}].team_size"),
                    "must be between 1 and 20",
                ));
            }
            if let Some(e2) = team_size_max_error(d, self.protocol()) {
                e.push(FieldError::new(
                    format!("departments[{i}].team_size_max"),
                    e2,
                ));
            }
            // Saturating: an out-of-range size is already an error above and must not
            // overflow the sum (a 500 found by contract fuzzing).
            total = total.saturating_add(d.team_size);
            if self.departments[..i].iter().any(|o| o.code == d.code) {
                e.push(FieldError::new(
                    format!("departments[{i}].code"),
                    format!("department {} listed twice", d.code),
                ));
            }
        }
        if !self.departments.is_empty() && total < 2 {
            e.push(FieldError::new(
                "departments",
                "a team needs at least 2 inspectors in total (two-person enforcement rule)",
            ));
        }
        if !teamless
            && !self
                .departments
                .iter()
                .any(|d| d.code == self.lead_department)
        {
            e.push(FieldError::new(
                "lead_department",
                "must be one of the participating departments",
            ));
        }
        super::targeted::validate_targets(self.mode(), &self.targets, &mut e);
        match (&self.recheck, self.is_recheck()) {
            (Some(r), true) => {
                r.validate(&mut e);
                if self.protocol() != Protocol::V2 {
                    e.push(FieldError::new("protocol", "a re-check uses suiji-draw/2"));
                }
            }
            (None, true) => e.push(FieldError::new(
                "recheck",
                "a re-check task says which completed inspections it draws from",
            )),
            (Some(_), false) => e.push(FieldError::new(
                "recheck",
                "only a task with mode recheck draws from completed inspections",
            )),
            (None, false) => {}
        }
        if self.is_targeted() {
            if self.protocol() != Protocol::V2 {
                e.push(FieldError::new(
                    "protocol",
                    "a targeted task uses suiji-draw/2",
                ));
            }
            if self.departments.is_empty() {
                e.push(FieldError::new(
                    "departments",
                    "a targeted task draws its teams: at least one department",
                ));
            }
            if !(self.strata.is_empty() || self.strata == [super::targeted::targeted_stratum()]) {
                e.push(FieldError::new(
                    "strata",
                    "a targeted task names its institutions in targets; leave strata out",
                ));
            }
        } else if self.strata.is_empty() {
            e.push(FieldError::new("strata", "at least one stratum"));
        } else if let Some(i) = self
            .strata
            .iter()
            .position(|s| s.id == super::targeted::TARGETED_STRATUM)
        {
            e.push(FieldError::new(
                format!("strata[{i}].id"),
                "the stratum id targeted is reserved for targeted tasks (named institutions)",
            ));
        }
        for (i, s) in self.strata.iter().enumerate() {
            let f = |name: &str| format!("strata[{i}].{name}");
            if !id_like(&s.id) {
                e.push(FieldError::new(
                    f("id"),
                    "1-64 characters without spaces or control characters",
                ));
            }
            if self.strata[..i].iter().any(|o| o.id == s.id) {
                e.push(FieldError::new(
                    f("id"),
                    format!("stratum {} listed twice", s.id),
                ));
            }
            if s.ratio.den == 0 {
                e.push(FieldError::new(f("ratio.den"), "must be at least 1"));
            } else if s.ratio.num > s.ratio.den {
                e.push(FieldError::new(f("ratio"), "must not exceed 1 (num ≤ den)"));
            } else if s.ratio.den > 1_000_000 {
                e.push(FieldError::new(f("ratio.den"), "must be at most 1000000"));
            }
            if let Some(max) = s.max
                && max < s.min
            {
                e.push(FieldError::new(f("max"), "must not be less than min"));
            }
            if s.ratio.num == 0 && s.min == 0 {
                e.push(FieldError::new(
                    f("ratio"),
                    "a stratum with ratio 0 and min 0 never draws anyone (every grade is sampled, 不免抽)",
                ));
            }
            s.filter.check(&mut e, &f("filter"));
        }
        if self.max_assignments_per_inspector == Some(0) {
            e.push(FieldError::new(
                "max_assignments_per_inspector",
                "must be at least 1, or null",
            ));
        }
        if self.inspection_end < self.inspection_start {
            e.push(FieldError::new(
                "inspection_end",
                "must not be before inspection_start",
            ));
        }
        if let Some(by) = self.selection_publish_by
            && by > self.inspection_start
        {
            e.push(FieldError::new(
                "selection_publish_by",
                "the drawn list must be published by the start of the inspection at the latest",
            ));
        }
        if let Some(n) = self.results_within_working_days
            && !(1..=250).contains(&n)
        {
            e.push(FieldError::new(
                "results_within_working_days",
                "must be between 1 and 250",
            ));
        }
        for (i, code) in self.items.iter().enumerate() {
            if self.items[..i].contains(code) {
                e.push(FieldError::new(format!("items[{i}]"), "listed twice"));
            }
        }
        if self.entropy_plan.is_empty() {
            e.push(FieldError::new(
                "entropy_plan",
                "at least one source of randomness",
            ));
        }
        super::list::validate_task(self, &mut e);
        if self.protocol() == Protocol::V2 {
            self.validate_v2(&mut e);
        } else if self.reveal_deadline.is_some() {
            e.push(FieldError::new(
                "reveal_deadline",
                "suiji-draw/1 has no reveal deadline (omit protocol for suiji-draw/2)",
            ));
        }
        for (i, p) in self.entropy_plan.iter().enumerate() {
            let field = format!("entropy_plan[{i}].source");
            if self.entropy_plan[..i].iter().any(|o| o.source == p.source) {
                e.push(FieldError::new(&field, "listed twice"));
            }
            if let Some(code) = p.source.strip_prefix("department:") {
                // A sample without teams may be seeded by any registered department's
                // secret (the store checks that it exists); a joint task by its own.
                if teamless {
                    if DepartmentCode::parse(code).is_err() {
                        e.push(FieldError::new(
                            &field,
                            format!("{code} is not a department code"),
                        ));
                    }
                } else if !self.departments.iter().any(|d| d.code.as_str() == code) {
                    e.push(FieldError::new(
                        &field,
                        format!("{code} is not a participating department"),
                    ));
                }
            } else if let Some(name) = p.source.strip_prefix("beacon:") {
                let ok = !name.is_empty()
                    && name.len() <= 64
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                if !ok {
                    e.push(FieldError::new(&field, "beacon names use a-z, 0-9 and '-'"));
                }
                if self.protocol() == Protocol::V1
                    && p.note.as_deref().is_none_or(|n| n.trim().is_empty())
                {
                    e.push(FieldError::new(
                        format!("entropy_plan[{i}].note"),
                        "a beacon must say in advance which round or date will be used",
                    ));
                }
            } else {
                e.push(FieldError::new(
                    &field,
                    "must be department:<code> or beacon:<name>",
                ));
            }
            if let Some(note) = &p.note {
                super::registry::check_text(
                    &mut e,
                    &format!("entropy_plan[{i}].note"),
                    note,
                    false,
                    200,
                );
            }
        }
        e
    }

    /// The task's protocol (`suiji-draw/2` unless it says otherwise).
    pub fn protocol(&self) -> Protocol {
        self.protocol.unwrap_or(Protocol::V2)
    }

    /// How the institutions were chosen (absent: random).
    pub fn mode(&self) -> super::targeted::TaskMode {
        self.mode.unwrap_or_default()
    }

    /// Whether the institutions are named (定向), not drawn: such tasks are not draws in
    /// plan progress, are exempt from yearly frequency caps and are counted apart.
    pub fn is_targeted(&self) -> bool {
        self.mode() == super::targeted::TaskMode::Targeted
    }

    /// Whether the institutions are drawn at random from the registry (every task stored
    /// before modes): the only tasks that are draws for plan progress and frequency caps.
    pub fn is_random(&self) -> bool {
        self.mode() == super::targeted::TaskMode::Random
    }

    /// A re-check (抽查复查) of inspections lower levels completed.
    pub fn is_recheck(&self) -> bool {
        self.mode() == super::targeted::TaskMode::Recheck
    }

    /// A targeted task as stored: mode written out, its one stratum `targeted` (1/1).
    pub fn normalize_targeted(&mut self) {
        if self.is_targeted() {
            self.mode = Some(super::targeted::TaskMode::Targeted);
            self.strata = vec![super::targeted::targeted_stratum()];
        }
    }

    /// The reveal deadline in Unix seconds (/2).
    pub fn reveal_deadline_unix(&self) -> Option<i64> {
        self.reveal_deadline.map(|t| t.timestamp())
    }

    /// The planned quicknet round (/2 with a beacon).
    pub fn beacon_round(&self) -> Option<u64> {
        self.entropy_plan
            .iter()
            .find(|p| p.source == crate::draw::quicknet::SOURCE)
            .and_then(|p| p.round)
    }

    /// The suiji-draw/2 rules: a reveal deadline; the only beacon is drand quicknet, named
    /// by a round published strictly after the deadline.
    fn validate_v2(&self, e: &mut Vec<FieldError>) {
        let deadline = match self.reveal_deadline {
            None => {
                e.push(FieldError::new(
                    "reveal_deadline",
                    "suiji-draw/2 needs a reveal deadline (RFC 3339); reveals after it are refused",
                ));
                None
            }
            Some(t) if t.timestamp() < 0 => {
                e.push(FieldError::new("reveal_deadline", "must be after 1970"));
                None
            }
            Some(t) => Some(t.timestamp() as u64),
        };
        for (i, p) in self.entropy_plan.iter().enumerate() {
            let beacon = p.source.starts_with("beacon:");
            if beacon && p.source != crate::draw::quicknet::SOURCE {
                e.push(FieldError::new(
                    format!("entropy_plan[{i}].source"),
                    format!(
                        "suiji-draw/2 knows one beacon, {}, checked by signature",
                        crate::draw::quicknet::SOURCE
                    ),
                ));
            }
            match (beacon, p.round) {
                (false, Some(_)) => e.push(FieldError::new(
                    format!("entropy_plan[{i}].round"),
                    "only the beacon names a round",
                )),
                (true, None) => e.push(FieldError::new(
                    format!("entropy_plan[{i}].round"),
                    "the beacon must name its drand quicknet round before sealing",
                )),
                (true, Some(round)) => {
                    if let (Some(d), Some(t)) = (deadline, crate::draw::quicknet::round_time(round))
                        && t <= d
                    {
                        e.push(FieldError::new(
                            format!("entropy_plan[{i}].round"),
                            format!(
                                "round {round} is published at {} (unix {t}), not strictly after the reveal deadline (unix {d}); the first round after it is {}",
                                unix_rfc3339(t),
                                crate::draw::quicknet::first_round_after(d)
                            ),
                        ));
                    }
                    if round == 0 {
                        e.push(FieldError::new(
                            format!("entropy_plan[{i}].round"),
                            "quicknet rounds start at 1",
                        ));
                    }
                }
                (false, None) => {}
            }
        }
    }

    /// The working days allowed for results after the inspection ends.
    pub fn results_working_days(&self) -> u32 {
        self.results_within_working_days.unwrap_or(20)
    }

    /// When the drawn list must be public.
    pub fn selection_deadline(&self) -> NaiveDate {
        self.selection_publish_by.unwrap_or(self.inspection_start)
    }
}

/// A Unix time as RFC 3339 (UTC, seconds).
pub fn unix_rfc3339(t: u64) -> String {
    chrono::DateTime::from_timestamp(t as i64, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| t.to_string())
}

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Being configured; departments post their commitments.
    Draft,
    /// The pool is frozen and its hash public; departments reveal.
    Sealed,
    /// The draw is made and can never change.
    Drawn,
    /// The drawn list is public.
    Published,
    /// Every result is published.
    Closed,
    /// Abandoned before the draw; the record stays.
    Cancelled,
}

impl TaskState {
    pub const ALL: &'static [TaskState] = &[
        TaskState::Draft,
        TaskState::Sealed,
        TaskState::Drawn,
        TaskState::Published,
        TaskState::Closed,
        TaskState::Cancelled,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Draft => "draft",
            TaskState::Sealed => "sealed",
            TaskState::Drawn => "drawn",
            TaskState::Published => "published",
            TaskState::Closed => "closed",
            TaskState::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "draft" => TaskState::Draft,
            "sealed" => TaskState::Sealed,
            "drawn" => TaskState::Drawn,
            "published" => TaskState::Published,
            "closed" => TaskState::Closed,
            "cancelled" => TaskState::Cancelled,
            other => {
                return Err(format!(
                    "'{other}' is not one of: draft, sealed, drawn, published, closed, cancelled"
                ));
            }
        })
    }
}

impl std::fmt::Display for TaskState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Registry content read at sealing time, in the shapes the snapshot needs.
pub struct SealInputs {
    /// For each stratum of the task, in the task's order: active matching institutions
    /// as `(id, region)`, sorted by id.
    pub candidates: Vec<Vec<(String, String)>>,
    /// For each participating department, in the task's order: its active inspectors as
    /// `(id, document)`.
    pub inspectors: Vec<Vec<(String, super::registry::InspectorInput)>>,
    /// `(source, commitment, note)` for every planned source.
    pub plan: Vec<(String, Option<String>, Option<String>)>,
}

/// Freezes the pool as the draw specification wants it: an institution matching several
/// strata belongs to the first of the task's order; everything sorted as specified.
pub fn assemble_snapshot(
    task_id: &str,
    cfg: &TaskInput,
    inputs: SealInputs,
) -> crate::draw::Snapshot {
    use crate::draw::{
        Department, EntropyPlanEntry, Inspector, Member, Ratio as DrawRatio, Stratum,
    };
    use std::collections::HashSet;
    let mut taken: HashSet<String> = HashSet::new();
    let mut strata: Vec<Stratum> = cfg
        .strata
        .iter()
        .zip(inputs.candidates)
        .map(|(s, candidates)| {
            let members = candidates
                .into_iter()
                .filter(|(id, _)| taken.insert(id.clone()))
                .map(|(id, region)| Member {
                    id,
                    region: Some(region),
                })
                .collect();
            Stratum {
                id: s.id.clone(),
                ratio: DrawRatio {
                    num: s.ratio.num,
                    den: s.ratio.den,
                },
                min: s.min,
                max: s.max,
                members,
            }
        })
        .collect();
    strata.sort_by(|a, b| a.id.cmp(&b.id));
    for s in &mut strata {
        s.members.sort_by(|a, b| a.id.cmp(&b.id));
    }
    let mut departments: Vec<Department> = cfg
        .departments
        .iter()
        .zip(inputs.inspectors)
        .map(|(d, inspectors)| {
            let mut inspectors: Vec<Inspector> = inspectors
                .into_iter()
                .map(|(id, doc)| {
                    let mut conflicts: Vec<String> =
                        doc.conflicts.into_iter().map(|c| c.institution).collect();
                    conflicts.sort();
                    conflicts.dedup();
                    Inspector {
                        id,
                        region: Some(doc.region.as_str().to_string()),
                        conflicts,
                    }
                })
                .collect();
            inspectors.sort_by(|a, b| a.id.cmp(&b.id));
            Department {
                code: d.code.as_str().to_string(),
                team_size: d.team_size,
                inspectors,
            }
        })
        .collect();
    departments.sort_by(|a, b| a.code.cmp(&b.code));
    let mut entropy_plan: Vec<EntropyPlanEntry> = inputs
        .plan
        .into_iter()
        .map(|(source, commitment, note)| EntropyPlanEntry {
            source,
            commitment,
            note,
        })
        .collect();
    entropy_plan.sort_by(|a, b| a.source.cmp(&b.source));
    crate::draw::Snapshot {
        spec: crate::draw::SPEC.to_string(),
        task_id: task_id.to_string(),
        lead_department: cfg.lead_department.as_str().to_string(),
        cross_region: cfg.cross_region,
        max_assignments_per_inspector: cfg.max_assignments_per_inspector,
        strata,
        departments,
        entropy_plan,
    }
}
