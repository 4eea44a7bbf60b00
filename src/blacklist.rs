//! The public blacklist (黑名单, issue 15 part 7): listing decisions resting on published
//! results, delisting as a new version, both audited. A library the API calls; rows stay
//! behind `store::blacklist`; who may decide is `tasks::policy::blacklist`.

use crate::auth::Principal;
use crate::domain::blacklist::{
    Delisting, DelistingInput, Listing, ListingInput, ListingState, STORED_BLACKLIST_VERSION,
    grounds,
};
use crate::store::blacklist::{self as store, Entry};
use crate::store::{Store, audit, new_id};
use crate::tasks::{TaskError, TaskResult, policy};
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

/// Listings per page of the list, at most.
pub const MAX_LIST: i64 = 1000;

/// One version of a listing as recorded.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = BlacklistVersion)]
pub struct Version {
    pub version: i64,
    pub data: Listing,
    /// Who wrote it (role:subject) and when.
    pub actor: String,
    pub at: String,
}

/// A listing as the API answers it: its current version, whether it is on the public list
/// today, and every version.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = BlacklistEntry)]
pub struct EntryView {
    pub id: String,
    pub version: i64,
    #[serde(flatten)]
    pub data: Listing,
    /// On the public list on `as_of`.
    pub on_list: bool,
    #[schema(value_type = String, format = Date)]
    pub as_of: NaiveDate,
    pub created_at: String,
    pub updated_at: String,
    pub versions: Vec<Version>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = BlacklistEntryList)]
pub struct EntryList {
    pub items: Vec<EntryView>,
}

fn view(e: Entry, today: NaiveDate, versions: Vec<Version>) -> EntryView {
    EntryView {
        on_list: e.data.active_on(today),
        as_of: today,
        id: e.id,
        version: e.version,
        data: e.data,
        created_at: e.created_at,
        updated_at: e.updated_at,
        versions,
    }
}

async fn versions(db: &Store, id: &str) -> TaskResult<Vec<Version>> {
    Ok(store::versions(&mut *db.read().await?, id)
        .await?
        .into_iter()
        .map(|(version, data, actor, at)| Version {
            version,
            data,
            actor,
            at,
        })
        .collect())
}

pub async fn get(db: &Store, id: &str) -> TaskResult<EntryView> {
    let e = store::get(&mut *db.read().await?, id)
        .await?
        .ok_or_else(|| TaskError::NotFound(format!("no blacklist entry with id {id}")))?;
    let v = versions(db, id).await?;
    Ok(view(e, db.clock().china_today(), v))
}

/// Every listing, newest first (current versions; `GET /api/v1/blacklist/{id}` has the
/// versions).
pub async fn all(db: &Store, limit: i64) -> TaskResult<EntryList> {
    let today = db.clock().china_today();
    let items = store::list(&mut *db.read().await?, None, limit)
        .await?
        .into_iter()
        .map(|e| view(e, today, Vec::new()))
        .collect();
    Ok(EntryList { items })
}

/// Lists an institution: the decision rests on a published result showing a serious
/// violation ([`grounds`]); one open listing per institution at a time.
pub async fn list(db: &Store, who: &Principal, input: &ListingInput) -> TaskResult<EntryView> {
    TaskError::check(input.validate())?;
    let today = db.clock().china_today();
    let mut tx = db.begin().await?;
    let task = crate::store::tasks::get(&mut *tx, &input.task_id)
        .await?
        .ok_or_else(|| TaskError::field("task_id", "no task with this id"))?;
    policy::blacklist(who, &task.config)?;
    let Some(result) =
        store::published_result(&mut tx, &input.task_id, &input.institution_id).await?
    else {
        return Err(TaskError::field(
            "institution_id",
            "has no published result in this task: a listing rests on a published result",
        ));
    };
    let grounds: Vec<String> = grounds(&result.data)
        .into_iter()
        .map(String::from)
        .collect();
    if grounds.is_empty() {
        return Err(TaskError::field(
            "institution_id",
            "its published result shows no ground for listing (解除协议, 行政处罚, 移送公安机关 or 不配合检查情节严重)",
        ));
    }
    if input.listed_on < result.data.inspection_date {
        return Err(TaskError::field(
            "listed_on",
            format!(
                "must not be before the inspection ({})",
                result.data.inspection_date
            ),
        ));
    }
    if store::open_listing(&mut tx, &input.institution_id, &today.to_string()).await? {
        return Err(TaskError::Conflict(format!(
            "institution {} is on the blacklist already: delist it first or wait for its end date",
            input.institution_id
        )));
    }
    let actor = who.actor();
    let listing = Listing {
        stored_version: STORED_BLACKLIST_VERSION,
        task_id: input.task_id.clone(),
        institution_id: input.institution_id.clone(),
        institution_name: result.institution_name,
        credit_code: result.credit_code,
        region: result.region,
        result_version: result.version,
        grounds,
        reason: input.reason.clone(),
        decision_number: input.decision_number.clone(),
        listed_on: input.listed_on,
        until: input.until,
        state: ListingState::Listed,
        decided_by: format!("{}:{}", actor.role, actor.sub),
        delisting: None,
    };
    let id = new_id();
    store::save(&mut tx, &id, 1, &listing, &actor).await?;
    audit::append(
        &mut tx,
        &actor,
        "blacklist.list",
        "blacklist",
        &id,
        &audit::payload_digest(&listing),
    )
    .await?;
    tx.commit().await?;
    get(db, &id).await
}

/// Takes a listing off the list early: a new version with the reason and the date; the
/// listing's earlier version stays in its history.
pub async fn delist(
    db: &Store,
    who: &Principal,
    id: &str,
    input: &DelistingInput,
) -> TaskResult<EntryView> {
    TaskError::check(input.validate())?;
    let mut tx = db.begin().await?;
    let e = store::get(&mut *tx, id)
        .await?
        .ok_or_else(|| TaskError::NotFound(format!("no blacklist entry with id {id}")))?;
    let task = crate::store::tasks::get(&mut *tx, &e.data.task_id)
        .await?
        .ok_or_else(|| TaskError::not_found(&e.data.task_id))?;
    policy::blacklist(who, &task.config)?;
    if e.data.state == ListingState::Delisted {
        return Err(TaskError::Conflict(format!(
            "blacklist entry {id} is delisted already"
        )));
    }
    if input.delisted_on < e.data.listed_on || input.delisted_on > e.data.until {
        return Err(TaskError::field(
            "delisted_on",
            format!(
                "must be within the listing ({} to {})",
                e.data.listed_on, e.data.until
            ),
        ));
    }
    let actor = who.actor();
    let mut next = e.data.clone();
    next.state = ListingState::Delisted;
    next.delisting = Some(Delisting {
        reason: input.reason.clone(),
        delisted_on: input.delisted_on,
        decided_by: format!("{}:{}", actor.role, actor.sub),
    });
    if !store::save(&mut tx, id, e.version + 1, &next, &actor).await? {
        return Err(TaskError::Conflict(format!(
            "blacklist entry {id} changed meanwhile; read it again"
        )));
    }
    audit::append(
        &mut tx,
        &actor,
        "blacklist.delist",
        "blacklist",
        id,
        &audit::payload_digest(&next),
    )
    .await?;
    tx.commit().await?;
    get(db, id).await
}
