//! Reference data only an admin changes: the departments and the official working-day
//! calendar. A library the API and the CLI can both call; every change is audited and
//! storage stays behind `store`.

use crate::auth::Principal;
use crate::domain::calendar::{Calendar, YearCalendar};
use crate::domain::registry::{Department, DepartmentInput};
use crate::store::{self, Store, audit, publication, registry};
use crate::tasks::{TaskError, TaskResult};
use std::sync::RwLock;

/// Adds a department; refuses bad input and a code already taken, changing nothing. The
/// caller has checked that `who` is an admin.
pub async fn create_department(
    db: &Store,
    who: &Principal,
    input: DepartmentInput,
) -> TaskResult<Department> {
    TaskError::check(input.validate())?;
    let mut tx = db.begin().await?;
    if registry::department_exists(&mut *tx, input.code.as_str()).await? {
        return Err(TaskError::Conflict(format!(
            "department {} already exists",
            input.code
        )));
    }
    if crate::store::organizations::by_code(&mut *tx, input.code.as_str())
        .await?
        .is_some()
    {
        return Err(TaskError::Conflict(format!(
            "an organization already has the code {}, which a department's default organization takes",
            input.code
        )));
    }
    let at = tx.now();
    registry::insert_department(&mut tx, &input, &at).await?;
    // Its default organization (everywhere), which tokens without `org` act for.
    let root = crate::domain::organization::OrganizationInput {
        code: input.code.as_str().to_string(),
        name: input.name_zh.clone(),
        level: crate::domain::organization::OrgLevel::National,
        region_prefix: String::new(),
        parent: None,
        department: input.code.clone(),
    };
    crate::store::records::insert(&mut tx, &who.actor(), &root).await?;
    audit::append(
        &mut tx,
        &who.actor(),
        "department.create",
        "department",
        input.code.as_str(),
        &audit::payload_digest(&input),
    )
    .await?;
    tx.commit().await?;
    Ok(Department {
        data: input,
        created_at: at,
    })
}

/// Loads or corrects a year's official calendar. It is checked against its neighbours on a
/// copy, stored (audited; earlier versions are kept), then swapped in: the calendar in memory
/// changes only when the database has it. The caller has checked that `who` is an admin.
pub async fn load_calendar_year(
    db: &Store,
    calendar: &RwLock<Calendar>,
    who: &Principal,
    candidate: YearCalendar,
) -> TaskResult<YearCalendar> {
    candidate.validate().map_err(TaskError::Invalid)?;
    let mut next = calendar.read().expect("calendar lock").clone();
    next.insert(candidate.clone())?;
    let data = serde_json::to_string(&candidate).map_err(|e| TaskError::Internal(e.into()))?;
    let mut tx = db.begin().await?;
    publication::save_calendar_year(&mut tx, candidate.year as i64, &data, &who.actor()).await?;
    audit::append(
        &mut tx,
        &who.actor(),
        "calendar.load",
        "calendar_year",
        &candidate.year.to_string(),
        &audit::payload_digest(&candidate),
    )
    .await?;
    tx.commit().await?;
    *calendar.write().expect("calendar lock") = next;
    tracing::info!(year = candidate.year, "official calendar loaded");
    Ok(candidate)
}

/// Names (or renames) an administrative division for the public pages. Audited; earlier
/// versions are kept. The caller has checked that `who` is an admin.
pub async fn name_region(db: &Store, who: &Principal, code: &str, name: &str) -> TaskResult<i64> {
    TaskError::check(crate::domain::regions::validate(code, name))?;
    let mut tx = db.begin().await?;
    let version = store::regions::save_region_name(&mut tx, code, name, &who.actor()).await?;
    audit::append(
        &mut tx,
        &who.actor(),
        "region.name",
        "region_name",
        code,
        &audit::payload_digest(&serde_json::json!({"code": code, "name": name})),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(code, name, "region name loaded");
    Ok(version)
}
