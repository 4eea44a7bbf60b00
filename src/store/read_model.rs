//! Read queries of the publication read model (`crate::publication`): set-based, each
//! view read in one read transaction, only published (or closed) tasks. Returns read
//! types; nothing here is serialized to the wire as is.

use super::{Backend, Param, QueryBuilder, Store, dynamic};
use crate::domain::result::ResultInput;
use crate::domain::stored::StoredTaskConfig;
use crate::domain::task::{TaskInput, TaskState};
use crate::draw::{DrawResult, Replacement, Snapshot};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use std::collections::HashMap;

/// The states in which a task is public.
const PUBLIC_STATES: &str = "('published', 'closed')";
/// The same test written so that neither database picks the (state) index for it: the
/// paged reads below must walk their ordered index and stop after one page, not collect
/// every published task and sort it.
const IS_PUBLIC: &str = "(t.state || '') IN ('published', 'closed')";

type ReadTx = Transaction<'static, Any>;

fn decode<E: std::error::Error + Send + Sync + 'static>(e: E) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

/// A read transaction: one consistent snapshot of the database for a whole view.
async fn read_tx(store: &Store) -> Result<ReadTx, sqlx::Error> {
    match store.backend() {
        Backend::Sqlite => store.pool().begin().await,
        Backend::Postgres => {
            store
                .pool()
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await
        }
    }
}

/// A published task's own row.
#[derive(Debug, Clone)]
pub struct PublishedTask {
    pub id: String,
    pub state: TaskState,
    pub config: TaskInput,
    pub pool_hash: Option<String>,
    pub seed: Option<String>,
    pub result_hash: Option<String>,
    pub published_at: Option<String>,
}

const TASK_COLUMNS: &str =
    "t.id, t.state, t.config, t.pool_hash, t.seed, t.result_hash, t.published_at";

fn task_from_row(r: &AnyRow) -> Result<PublishedTask, sqlx::Error> {
    let state: String = r.try_get("state")?;
    let config: String = r.try_get("config")?;
    Ok(PublishedTask {
        id: r.try_get("id")?,
        state: TaskState::parse(&state).map_err(|e| sqlx::Error::Decode(e.into()))?,
        config: StoredTaskConfig::from_json(&config).map_err(decode)?.into(),
        pool_hash: r.try_get("pool_hash")?,
        seed: r.try_get("seed")?,
        result_hash: r.try_get("result_hash")?,
        published_at: r.try_get("published_at")?,
    })
}

async fn published_task(tx: &mut ReadTx, id: &str) -> Result<Option<PublishedTask>, sqlx::Error> {
    sqlx::query(dynamic(format!(
        "SELECT {TASK_COLUMNS} FROM tasks t WHERE t.id = $1 AND t.state IN {PUBLIC_STATES}"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .map(|r| task_from_row(&r))
    .transpose()
}

/// An institution as published.
#[derive(Debug, Clone, Default)]
pub struct InstitutionCard {
    pub id: String,
    pub name: String,
    pub credit_code: String,
    pub region: String,
    pub kind: String,
}

/// A drawn institution from the stored selection rows, with its registry card.
#[derive(Debug, Clone)]
pub struct DrawnInstitution {
    pub order: i64,
    pub stratum: String,
    pub institution: InstitutionCard,
}

/// One published version of a result.
#[derive(Debug, Clone)]
pub struct PublishedResult {
    pub institution_id: String,
    pub version: i64,
    pub data: ResultInput,
    pub correction_reason: Option<String>,
    pub published_at: String,
}

/// One entropy source as published.
#[derive(Debug, Clone)]
pub struct EntropyCard {
    pub source: String,
    pub note: Option<String>,
    pub commitment: Option<String>,
    pub value: Option<String>,
}

/// Everything the public view of one task is built from, read in one transaction.
#[derive(Debug, Clone)]
pub struct TaskRead {
    pub task: PublishedTask,
    /// The draw as made (teams; institutions and order also come from `drawn`).
    pub result: DrawResult,
    pub drawn: Vec<DrawnInstitution>,
    pub replacements: Vec<Replacement>,
    /// Published versions only, by institution and version.
    pub results: Vec<PublishedResult>,
    pub entropy: Vec<EntropyCard>,
    /// Name and certificate number of every inspector named in the draw or a replacement.
    pub inspectors: HashMap<String, (String, String)>,
    /// Department code → (name_zh, name_en).
    pub departments: HashMap<String, (String, String)>,
    /// Which organizations' inspectors the sealed pool took: (department, organization,
    /// inspectors).
    pub pools: Vec<(String, String, i64)>,
    /// Published versions of each department's part, by institution, department, version.
    pub parts: Vec<super::parts::PartRow>,
    /// The task's inspection items (titles for the codes).
    pub items: Vec<super::parts::ItemCard>,
    /// Issue 15: the rectifications ordered on the task's results.
    pub rectifications: Vec<crate::domain::rectification::Rectification>,
    /// Issue 15 part 5: the objections to the task's results, oldest first.
    pub objections: Vec<crate::domain::objection::Objection>,
}

async fn replacements(tx: &mut ReadTx, task_id: &str) -> Result<Vec<Replacement>, sqlx::Error> {
    sqlx::query(
        "SELECT seq, institution, department, out_inspector, in_inspector, reason \
         FROM task_replacements WHERE task_id = $1 ORDER BY seq",
    )
    .bind(task_id)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| {
        let seq: i64 = r.try_get("seq")?;
        Ok(Replacement {
            seq: seq as u64,
            institution: r.try_get("institution")?,
            department: r.try_get("department")?,
            out: r.try_get("out_inspector")?,
            reason: r.try_get("reason")?,
            r#in: r.try_get("in_inspector")?,
        })
    })
    .collect()
}

async fn entropy(tx: &mut ReadTx, task_id: &str) -> Result<Vec<EntropyCard>, sqlx::Error> {
    sqlx::query(
        "SELECT source, note, commitment, value FROM task_entropy WHERE task_id = $1 ORDER BY source",
    )
    .bind(task_id)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| {
        Ok(EntropyCard {
            source: r.try_get("source")?,
            note: r.try_get("note")?,
            commitment: r.try_get("commitment")?,
            value: r.try_get("value")?,
        })
    })
    .collect()
}

async fn stored_json<T: serde::de::DeserializeOwned>(
    tx: &mut ReadTx,
    sql: &'static str,
    task_id: &str,
) -> Result<Option<T>, sqlx::Error> {
    let Some(row) = sqlx::query(sql)
        .bind(task_id)
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Ok(None);
    };
    let text: String = row.try_get(0)?;
    serde_json::from_str(&text).map(Some).map_err(decode)
}

/// All public data of one published task, or `None` when no published task has this id.
pub async fn task(store: &Store, id: &str) -> Result<Option<TaskRead>, sqlx::Error> {
    let mut tx = read_tx(store).await?;
    let Some(task) = published_task(&mut tx, id).await? else {
        return Ok(None);
    };
    let Some(result) = stored_json::<DrawResult>(
        &mut tx,
        "SELECT result FROM task_results WHERE task_id = $1",
        id,
    )
    .await?
    else {
        return Err(sqlx::Error::Protocol(format!(
            "published task {id} has no draw"
        )));
    };
    let drawn = sqlx::query(
        "SELECT s.draw_order, s.stratum, i.id, i.name, i.credit_code, i.region, i.kind \
         FROM task_selections s JOIN institutions i ON i.id = s.institution_id \
         WHERE s.task_id = $1 ORDER BY s.draw_order",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| {
        Ok(DrawnInstitution {
            order: r.try_get("draw_order")?,
            stratum: r.try_get("stratum")?,
            institution: card_from_row(r)?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let replacements = replacements(&mut tx, id).await?;
    let results = published_results(&mut tx, id, None).await?;
    let entropy = entropy(&mut tx, id).await?;
    let mut ids: Vec<String> = result
        .selections
        .iter()
        .flat_map(|s| s.team.iter().flat_map(|t| t.inspectors.iter().cloned()))
        .chain(
            replacements
                .iter()
                .flat_map(|r| [r.out.clone(), r.r#in.clone()]),
        )
        .collect();
    ids.sort();
    ids.dedup();
    let inspectors = inspector_cards(&mut tx, &ids).await?;
    let departments = departments(&mut tx).await?;
    let pools = super::organizations::pools(&mut *tx, id).await?;
    let parts = super::parts::parts(&mut *tx, id, true).await?;
    let task_departments: Vec<String> = task
        .config
        .departments
        .iter()
        .map(|d| d.code.to_string())
        .chain(std::iter::once(task.config.lead_department.to_string()))
        .collect();
    let items = super::parts::task_items(&mut *tx, &task_departments, &task.config.items).await?;
    let rectifications = super::followup::rectifications(&mut *tx, Some(id), None, None)
        .await?
        .into_iter()
        .map(|r| r.data)
        .collect();
    let objections = super::objections::list(&mut *tx, Some(id), None, None, 10_000, 0)
        .await?
        .into_iter()
        .map(|o| o.data)
        .collect();
    tx.commit().await?;
    Ok(Some(TaskRead {
        objections,
        rectifications,
        parts,
        items,
        task,
        result,
        drawn,
        replacements,
        results,
        entropy,
        inspectors,
        departments,
        pools,
    }))
}

fn card_from_row(r: &AnyRow) -> Result<InstitutionCard, sqlx::Error> {
    Ok(InstitutionCard {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        credit_code: r.try_get("credit_code")?,
        region: r.try_get("region")?,
        kind: r.try_get("kind")?,
    })
}

async fn published_results(
    tx: &mut ReadTx,
    task_id: &str,
    institution: Option<&str>,
) -> Result<Vec<PublishedResult>, sqlx::Error> {
    let mut q = QueryBuilder::new(
        "SELECT institution_id, version, data, correction_reason, published_at \
         FROM inspection_results WHERE published_at IS NOT NULL AND task_id = ",
    );
    let t = q.text(task_id);
    q.push(&t);
    if let Some(i) = institution {
        let p = q.text(i);
        q.push(&format!(" AND institution_id = {p}"));
    }
    q.push(" ORDER BY institution_id, version");
    q.query()
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(result_from_row)
        .collect()
}

fn result_from_row(r: &AnyRow) -> Result<PublishedResult, sqlx::Error> {
    let data: String = r.try_get("data")?;
    Ok(PublishedResult {
        institution_id: r.try_get("institution_id")?,
        version: r.try_get("version")?,
        data: serde_json::from_str(&data).map_err(decode)?,
        correction_reason: r.try_get("correction_reason")?,
        published_at: r.try_get("published_at")?,
    })
}

async fn inspector_cards(
    tx: &mut ReadTx,
    ids: &[String],
) -> Result<HashMap<String, (String, String)>, sqlx::Error> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut q = QueryBuilder::new(
            "SELECT p.id, p.name, p.certificate_no FROM inspectors p WHERE 1 = 1",
        );
        q.any_of("p.id", chunk);
        for r in q.query().fetch_all(&mut **tx).await? {
            out.insert(
                r.try_get("id")?,
                (r.try_get("name")?, r.try_get("certificate_no")?),
            );
        }
    }
    Ok(out)
}

async fn departments(tx: &mut ReadTx) -> Result<HashMap<String, (String, String)>, sqlx::Error> {
    sqlx::query("SELECT code, name_zh, name_en FROM departments")
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("code")?,
                (r.try_get("name_zh")?, r.try_get("name_en")?),
            ))
        })
        .collect()
}

/// Department code → (name_zh, name_en), for the portal's list page.
pub async fn department_names(
    store: &Store,
) -> Result<HashMap<String, (String, String)>, sqlx::Error> {
    let mut tx = read_tx(store).await?;
    let out = departments(&mut tx).await?;
    tx.commit().await?;
    Ok(out)
}

/// What the bundle of a published task is made of.
pub struct BundleRead {
    pub snapshot: Snapshot,
    pub result: DrawResult,
    pub replacements: Vec<Replacement>,
    /// Revealed values: (source, value).
    pub entropy: Vec<(String, String)>,
}

/// The stored draw of a published task, or `None`.
pub async fn bundle(store: &Store, id: &str) -> Result<Option<BundleRead>, sqlx::Error> {
    let mut tx = read_tx(store).await?;
    if published_task(&mut tx, id).await?.is_none() {
        return Ok(None);
    }
    let result = stored_json::<DrawResult>(
        &mut tx,
        "SELECT result FROM task_results WHERE task_id = $1",
        id,
    )
    .await?;
    let snapshot = stored_json::<Snapshot>(
        &mut tx,
        "SELECT snapshot FROM task_snapshots WHERE task_id = $1",
        id,
    )
    .await?;
    let (Some(result), Some(snapshot)) = (result, snapshot) else {
        return Err(sqlx::Error::Protocol(format!(
            "published task {id} has no stored draw"
        )));
    };
    let replacements = replacements(&mut tx, id).await?;
    let entropy = entropy(&mut tx, id)
        .await?
        .into_iter()
        .filter_map(|e| e.value.map(|v| (e.source, v)))
        .collect();
    tx.commit().await?;
    Ok(Some(BundleRead {
        snapshot,
        result,
        replacements,
        entropy,
    }))
}

pub use crate::domain::filter::TaskFilter;

/// A page of published tasks in id order after `after`; the next cursor if there is more.
pub async fn list(
    store: &Store,
    f: &TaskFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<(Vec<PublishedTask>, Option<String>), sqlx::Error> {
    let mut q = QueryBuilder::new(&format!(
        "SELECT {TASK_COLUMNS} FROM tasks t WHERE t.state IN {PUBLIC_STATES}"
    ));
    super::filter::push_task_filter(&mut q, f);
    if let Some(a) = after {
        let p = q.text(a);
        q.push(&format!(" AND t.id > {p}"));
    }
    let p = q.bind(Param::Int(limit + 1));
    q.push(&format!(" ORDER BY t.id LIMIT {p}"));
    let mut rows: Vec<PublishedTask> = q
        .query()
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(task_from_row)
        .collect::<Result<_, _>>()?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|t| t.id.clone())
    } else {
        None
    };
    Ok((rows, next))
}

/// One row of `results.csv`: the current published version of one drawn institution.
#[derive(Debug, Clone)]
pub struct ResultLine {
    pub task_id: String,
    pub order: i64,
    pub institution: InstitutionCard,
    pub current: PublishedResult,
    /// When its first version was published.
    pub first_published_at: String,
}

/// A page of current published results, in (task id, draw order) order after `after`,
/// with the tasks they belong to. One query for the rows, one for their tasks.
pub async fn result_lines(
    store: &Store,
    after: Option<(&str, i64)>,
    limit: i64,
) -> Result<(Vec<ResultLine>, HashMap<String, PublishedTask>), sqlx::Error> {
    let mut tx = read_tx(store).await?;
    let mut q = QueryBuilder::new(&format!(
        "SELECT s.task_id, s.draw_order, i.id, i.name, i.credit_code, i.region, i.kind, \
           r.institution_id, r.version, r.data, r.correction_reason, r.published_at, \
           (SELECT MIN(r3.published_at) FROM inspection_results r3 WHERE r3.task_id = r.task_id \
              AND r3.institution_id = r.institution_id AND r3.published_at IS NOT NULL) AS first_published_at \
         FROM task_selections s \
         CROSS JOIN tasks t \
         JOIN institutions i ON i.id = s.institution_id \
         JOIN inspection_results r ON r.task_id = s.task_id AND r.institution_id = s.institution_id \
           AND r.version = (SELECT MAX(r2.version) FROM inspection_results r2 WHERE r2.task_id = s.task_id \
              AND r2.institution_id = s.institution_id AND r2.published_at IS NOT NULL) \
         WHERE t.id = s.task_id AND {IS_PUBLIC}"
    ));
    if let Some((task, order)) = after {
        let t = q.text(task);
        let o = q.bind(Param::Int(order));
        q.push(&format!(" AND (s.task_id, s.draw_order) > ({t}, {o})"));
    }
    let p = q.bind(Param::Int(limit));
    q.push(&format!(" ORDER BY s.task_id, s.draw_order LIMIT {p}"));
    let lines = q
        .query()
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            Ok(ResultLine {
                task_id: r.try_get("task_id")?,
                order: r.try_get("draw_order")?,
                institution: card_from_row(r)?,
                current: result_from_row(r)?,
                first_published_at: r.try_get("first_published_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let mut ids: Vec<String> = lines.iter().map(|l| l.task_id.clone()).collect();
    ids.dedup();
    let tasks = tasks_by_id(&mut tx, &ids).await?;
    tx.commit().await?;
    Ok((lines, tasks))
}

async fn tasks_by_id(
    tx: &mut ReadTx,
    ids: &[String],
) -> Result<HashMap<String, PublishedTask>, sqlx::Error> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut q = QueryBuilder::new(&format!(
            "SELECT {TASK_COLUMNS} FROM tasks t WHERE t.state IN {PUBLIC_STATES}"
        ));
        q.any_of("t.id", chunk);
        for r in q.query().fetch_all(&mut **tx).await? {
            let t = task_from_row(&r)?;
            out.insert(t.id.clone(), t);
        }
    }
    Ok(out)
}

/// The newest publications for the feed: drawn lists and result batches.
pub struct FeedRead {
    /// The latest `n` published tasks by selection publication time, newest first.
    pub selections: Vec<PublishedTask>,
    /// The latest `n` (task, latest result publication time), newest first.
    pub results: Vec<(PublishedTask, String)>,
}

/// Reads the newest `n` publications of each kind; the work grows with `n`, not with the
/// number of published tasks (index scans on the publication times).
pub async fn feed(store: &Store, n: i64) -> Result<FeedRead, sqlx::Error> {
    let mut tx = read_tx(store).await?;
    let selections = sqlx::query(dynamic(format!(
        "SELECT {TASK_COLUMNS} FROM tasks t WHERE t.published_at IS NOT NULL \
         AND {IS_PUBLIC} ORDER BY t.published_at DESC, t.id DESC LIMIT $1"
    )))
    .bind(n)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(task_from_row)
    .collect::<Result<Vec<_>, _>>()?;
    // Walk result publications newest first, one (time, task) pair at a time, until n
    // distinct tasks are found: each task's first hit is its latest publication.
    let mut latest: Vec<(String, String)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut after: Option<(String, String)> = None;
    loop {
        let mut q = QueryBuilder::new(&format!(
            "SELECT r.published_at, r.task_id FROM inspection_results r CROSS JOIN tasks t \
             WHERE t.id = r.task_id AND {IS_PUBLIC} AND r.published_at IS NOT NULL"
        ));
        if let Some((at, task)) = &after {
            let a = q.text(at.clone());
            let t = q.text(task.clone());
            q.push(&format!(" AND (r.published_at, r.task_id) < ({a}, {t})"));
        }
        let p = q.bind(Param::Int(4 * n));
        q.push(&format!(
            " ORDER BY r.published_at DESC, r.task_id DESC LIMIT {p}"
        ));
        let rows = q.query().fetch_all(&mut *tx).await?;
        let count = rows.len() as i64;
        for r in &rows {
            let at: String = r.try_get("published_at")?;
            let task: String = r.try_get("task_id")?;
            after = Some((at.clone(), task.clone()));
            if seen.insert(task.clone()) && (latest.len() as i64) < n {
                latest.push((task, at));
            }
        }
        if count < 4 * n || latest.len() as i64 >= n {
            break;
        }
    }
    let ids: Vec<String> = latest.iter().map(|(t, _)| t.clone()).collect();
    let mut tasks = tasks_by_id(&mut tx, &ids).await?;
    tx.commit().await?;
    let results = latest
        .into_iter()
        .filter_map(|(id, at)| tasks.remove(&id).map(|t| (t, at)))
        .collect();
    Ok(FeedRead {
        selections,
        results,
    })
}

/// An institution's registry card and the published tasks that drew it, newest first;
/// `None` when no published task drew it.
pub async fn institution_tasks(
    store: &Store,
    institution: &str,
) -> Result<Option<(InstitutionCard, Vec<String>)>, sqlx::Error> {
    let mut tx = read_tx(store).await?;
    let tasks: Vec<String> = sqlx::query(dynamic(format!(
        "SELECT s.task_id FROM task_selections s JOIN tasks t ON t.id = s.task_id \
         WHERE s.institution_id = $1 AND t.state IN {PUBLIC_STATES} \
         ORDER BY t.published_at DESC, t.id DESC"
    )))
    .bind(institution)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| r.try_get("task_id"))
    .collect::<Result<_, _>>()?;
    if tasks.is_empty() {
        return Ok(None);
    }
    let card = sqlx::query(
        "SELECT i.id, i.name, i.credit_code, i.region, i.kind FROM institutions i WHERE i.id = $1",
    )
    .bind(institution)
    .fetch_optional(&mut *tx)
    .await?
    .map(|r| card_from_row(&r))
    .transpose()?;
    tx.commit().await?;
    Ok(card.map(|c| (c, tasks)))
}

/// The head of the audit chain: it moves on every change, whichever process made it.
pub async fn audit_head(store: &Store) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT seq FROM audit_head WHERE id = 1")
        .fetch_one(store.pool())
        .await?
        .try_get("seq")
}
