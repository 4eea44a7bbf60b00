//! What a lifecycle step can answer instead of its value.

use crate::domain::calendar::CalendarError;
use crate::domain::task::TaskState;
use crate::error::{ApiError, FieldError, InfeasiblePair};

/// Why a lifecycle step was refused or failed. Every refusal changes nothing.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    /// The task is not in a state that allows the step.
    #[error("{detail}")]
    WrongState { detail: String, current: TaskState },
    #[error("{0}")]
    Conflict(String),
    /// Bad input, every refused field with its reason.
    #[error("{} field(s) invalid", .0.len())]
    Invalid(Vec<FieldError>),
    /// Some institution cannot get a full team from some department.
    #[error("{} institution/department pair(s) lack enough eligible inspectors", .0.len())]
    Infeasible(Vec<InfeasiblePair>),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type TaskResult<T> = Result<T, TaskError>;

impl TaskError {
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, reason)])
    }

    pub fn not_found(id: &str) -> Self {
        Self::NotFound(format!("no task with id {id}"))
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::Internal(anyhow::anyhow!("{message}"))
    }

    /// `Ok` when no field was refused.
    pub fn check(errors: Vec<FieldError>) -> TaskResult<()> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Self::Invalid(errors))
        }
    }
}

impl From<CalendarError> for TaskError {
    fn from(e: CalendarError) -> Self {
        match e {
            CalendarError::Invalid { errors, .. } => TaskError::Invalid(errors),
            CalendarError::MissingYear(y) => TaskError::field(
                "working_days",
                format!(
                    "the deadline runs into {y}, for which no official calendar is loaded (an admin loads it with PUT /api/v1/calendar/{y})"
                ),
            ),
            CalendarError::ZeroWorkingDays => TaskError::field("working_days", e.to_string()),
        }
    }
}

impl From<TaskError> for ApiError {
    fn from(e: TaskError) -> Self {
        match e {
            TaskError::NotFound(m) => ApiError::NotFound(m),
            TaskError::Forbidden(m) => ApiError::Forbidden(m),
            TaskError::WrongState { detail, current } => ApiError::wrong_state(detail, current),
            TaskError::Conflict(m) => ApiError::Conflict(m),
            TaskError::Invalid(errors) => ApiError::invalid(errors),
            TaskError::Infeasible(pairs) => ApiError::Infeasible(pairs),
            TaskError::Store(e) => ApiError::from(e),
            TaskError::Internal(e) => ApiError::Internal(e),
        }
    }
}
