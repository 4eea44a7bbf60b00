//! Targeted inspections (定向/重点检查, issue 14 part 5): the institutions are named, each
//! with a reason (a clue, a complaint, a monitoring alert, an intersection of lists), not
//! drawn. The teams are still drawn at random with recusal: the task is an ordinary
//! suiji-draw/2 task whose single stratum `targeted` holds exactly the named institutions
//! at ratio 1/1 (docs/draw-spec.md, B.13).

use crate::error::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The id of the one stratum of a targeted task.
pub const TARGETED_STRATUM: &str = "targeted";

/// The most institutions one targeted task names.
pub const MAX_TARGETS: usize = 500;

/// How the institutions of a task were chosen: `random` (drawn, 双随机), `targeted`
/// (named with a reason, 定向) or `recheck` (drawn from the inspections lower levels
/// completed, 抽查复查). Tasks stored before the mode existed are random.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskMode {
    #[default]
    Random,
    Targeted,
    Recheck,
}

impl TaskMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskMode::Random => "random",
            TaskMode::Targeted => "targeted",
            TaskMode::Recheck => "recheck",
        }
    }

    /// As the portal and the public CSV show it.
    pub fn label_zh(self) -> &'static str {
        match self {
            TaskMode::Random => "随机",
            TaskMode::Targeted => "定向",
            TaskMode::Recheck => "复查",
        }
    }
}

/// Why an institution is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    /// 举报线索.
    Clue,
    /// 投诉.
    Complaint,
    /// 智能监控/大数据监测预警.
    MonitoringAlert,
    /// On several lists at once (名单交集).
    ListIntersection,
    /// 上级交办 or another reason, said in the text.
    Other,
}

impl ReasonKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonKind::Clue => "clue",
            ReasonKind::Complaint => "complaint",
            ReasonKind::MonitoringAlert => "monitoring_alert",
            ReasonKind::ListIntersection => "list_intersection",
            ReasonKind::Other => "other",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            ReasonKind::Clue => "举报线索",
            ReasonKind::Complaint => "投诉",
            ReasonKind::MonitoringAlert => "监测预警",
            ReasonKind::ListIntersection => "多名单交集",
            ReasonKind::Other => "其他",
        }
    }
}

/// One named institution of a targeted task. The reason's text stays private (it may
/// describe a clue); the public sees the kind only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NamedTarget {
    /// The institution's registry id.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub institution: String,
    pub reason_kind: ReasonKind,
    /// Why, in words (1–500 characters); private.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub reason: String,
    /// The clue of the clue ledger this target comes from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub clue: Option<String>,
}

/// The rules of the named list that need no database.
pub fn validate_targets(mode: TaskMode, targets: &[NamedTarget], e: &mut Vec<FieldError>) {
    match mode {
        TaskMode::Random | TaskMode::Recheck => {
            if !targets.is_empty() {
                e.push(FieldError::new(
                    "targets",
                    "only a task with mode targeted names institutions; a random or re-check task draws them",
                ));
            }
        }
        TaskMode::Targeted => {
            if targets.is_empty() {
                e.push(FieldError::new(
                    "targets",
                    "a targeted task names at least one institution",
                ));
            }
            if targets.len() > MAX_TARGETS {
                e.push(FieldError::new(
                    "targets",
                    format!("at most {MAX_TARGETS} institutions"),
                ));
            }
            for (i, t) in targets.iter().enumerate() {
                super::registry::check_text(
                    e,
                    &format!("targets[{i}].institution"),
                    &t.institution,
                    true,
                    64,
                );
                super::registry::check_text(
                    e,
                    &format!("targets[{i}].reason"),
                    &t.reason,
                    true,
                    500,
                );
                if targets[..i].iter().any(|o| o.institution == t.institution) {
                    e.push(FieldError::new(
                        format!("targets[{i}].institution"),
                        format!("institution {} named twice", t.institution),
                    ));
                }
                if let Some(c) = &t.clue {
                    super::registry::check_text(e, &format!("targets[{i}].clue"), c, true, 64);
                }
            }
        }
    }
}

/// The one stratum of a targeted task: every named institution, all of them (1/1).
pub fn targeted_stratum() -> super::task::StratumConfig {
    super::task::StratumConfig {
        id: TARGETED_STRATUM.to_string(),
        filter: Default::default(),
        ratio: super::task::Ratio { num: 1, den: 1 },
        min: 0,
        max: None,
        records: None,
        cap: None,
        group_by: None,
    }
}
