//! Record lists (issue 14) in the lifecycle: uploading a list (all or nothing, streamed into
//! the store in batches so a list of any length is never held in memory), reading its
//! metadata, deleting an unused one. Rules on who may do what are in `tasks::policy`.

pub mod derive;
pub mod intake;
pub mod tree;

use crate::bulk::RowError;
use crate::bulk::import::MAX_REPORTED;
use crate::bulk::source::{SourceError, Table};
use crate::domain::Actor;
use crate::domain::list::{self, ContentHash, ListColumn};
use crate::store::audit;
use crate::store::lists::{self as db, ListMeta, RowIn};
use crate::store::{Store, new_id};
use serde_json::Value;

/// What the upload declares besides the file.
#[derive(Debug, Clone)]
pub struct Declared {
    pub name: String,
    pub id_column: String,
    pub columns: Vec<ListColumn>,
}

/// The file as received.
pub struct FileInfo {
    pub format: &'static str,
    pub encoding: Option<&'static str>,
    pub sha256: String,
}

/// Why an upload wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("{count} row error(s); nothing was written")]
    Rows { errors: Vec<RowError>, count: u64 },
    #[error(transparent)]
    Db(#[from] crate::store::StoreError),
}

/// A created list and the header columns the file had beyond the declared ones (ignored).
pub struct Uploaded {
    pub list: ListMeta,
    pub ignored_columns: Vec<String>,
    pub audit_seq: i64,
}

struct Errors {
    list: Vec<RowError>,
    count: u64,
}

impl Errors {
    fn push(&mut self, e: RowError) {
        self.count += 1;
        if self.list.len() < MAX_REPORTED {
            self.list.push(e);
        }
    }
}

fn source_error(e: SourceError) -> UploadError {
    UploadError::Rows {
        errors: vec![RowError::new(e.row, e.column, "", e.reason)],
        count: 1,
    }
}

fn new_salt() -> [u8; 32] {
    use rand::Rng;
    let mut salt = [0u8; 32];
    rand::rng().fill_bytes(&mut salt);
    salt
}

/// Uploads a list: the header row must name the id column and every declared column
/// (other columns are ignored and reported); every row must have an id (unique in the
/// file) and a valid value in every declared column. Any bad row writes nothing; the 422
/// names every bad row (up to 1,000) with its column.
pub async fn upload(
    store: &Store,
    table: &mut Table,
    file: FileInfo,
    declared: Declared,
    who: &Actor,
    organization: Option<String>,
    mut progress: impl FnMut(u64),
) -> Result<Uploaded, UploadError> {
    let mut cells = Vec::new();
    let Some(header_row) = table.next_row(&mut cells).map_err(source_error)? else {
        return Err(UploadError::Rows {
            errors: vec![RowError::new(1, "", "", "the file is empty: no header row")],
            count: 1,
        });
    };
    let titles: Vec<String> = cells.clone();
    let position = |name: &str| titles.iter().position(|t| t == name);
    let mut errors = Errors {
        list: Vec::new(),
        count: 0,
    };
    let id_pos = position(&declared.id_column);
    if id_pos.is_none() {
        errors.push(RowError::new(
            header_row,
            declared.id_column.clone(),
            "",
            format!(
                "the id column {:?} is not in the header row",
                declared.id_column
            ),
        ));
    }
    let mut col_pos = Vec::with_capacity(declared.columns.len());
    for c in &declared.columns {
        match position(&c.name) {
            Some(p) => col_pos.push(p),
            None => errors.push(RowError::new(
                header_row,
                c.name.clone(),
                "",
                format!("the declared column {:?} is not in the header row", c.name),
            )),
        }
    }
    for (i, t) in titles.iter().enumerate() {
        if !t.is_empty() && titles[..i].contains(t) {
            errors.push(RowError::new(
                header_row,
                t.clone(),
                t.clone(),
                "this title appears twice in the header row",
            ));
        }
    }
    if errors.count > 0 {
        return Err(UploadError::Rows {
            errors: errors.list,
            count: errors.count,
        });
    }
    let id_pos = id_pos.expect("checked");
    let ignored_columns: Vec<String> = titles
        .iter()
        .enumerate()
        .filter(|(i, t)| !t.is_empty() && *i != id_pos && !col_pos.contains(i))
        .map(|(_, t)| t.clone())
        .collect();

    let salt = new_salt();
    let list_id = new_id();
    let mut meta = ListMeta {
        id: list_id.clone(),
        name: declared.name.clone(),
        id_column: declared.id_column.clone(),
        columns: declared.columns.clone(),
        row_count: 0,
        sha256: String::new(),
        file_sha256: file.sha256,
        format: file.format.to_string(),
        encoding: file.encoding.map(str::to_string),
        organization,
        created_by: who.sub.clone(),
        created_at: store.now(),
        deleted_by: None,
        deleted_at: None,
    };
    let backend = store.backend();
    let mut tx = store.begin().await?;
    db::create(&mut tx, &meta, &hex::encode(salt)).await?;
    let mut content = ContentHash::new(&declared.id_column, &declared.columns);
    let mut batch: Vec<RowIn> = Vec::with_capacity(db::BATCH);
    let mut rows: i64 = 0;
    let mut values: Vec<Value> = Vec::with_capacity(declared.columns.len());
    let id_title = declared.id_column.clone();
    loop {
        let row = match table.next_row(&mut cells) {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(e) => {
                errors.push(RowError::new(e.row, e.column, "", e.reason));
                break;
            }
        };
        rows += 1;
        let cell = |p: usize| cells.get(p).map_or("", String::as_str);
        let id = cell(id_pos);
        let mut ok = true;
        if let Err(reason) = list::parse_id(id) {
            errors.push(RowError::new(row, id_title.clone(), id, reason));
            ok = false;
        }
        values.clear();
        for (c, &p) in declared.columns.iter().zip(&col_pos) {
            match list::parse_cell(c.kind, cell(p)) {
                Ok(v) => values.push(v),
                Err(reason) => {
                    errors.push(RowError::new(row, c.name.clone(), cell(p), reason));
                    ok = false;
                }
            }
        }
        if !ok {
            continue;
        }
        content.row(id, &values);
        batch.push(RowIn {
            row_no: row as i64,
            member: list::member_hash(&salt, id),
            record_id: id.to_string(),
            attrs: serde_json::to_string(&values).map_err(|e| sqlx::Error::Encode(e.into()))?,
        });
        if batch.len() >= db::BATCH {
            flush(
                &mut tx,
                backend,
                &list_id,
                &mut batch,
                &id_title,
                &mut errors,
            )
            .await?;
            progress(rows as u64);
        }
    }
    flush(
        &mut tx,
        backend,
        &list_id,
        &mut batch,
        &id_title,
        &mut errors,
    )
    .await?;
    progress(rows as u64);
    if rows == 0 && errors.count == 0 {
        errors.push(RowError::new(
            header_row + 1,
            "",
            "",
            "the list has no record: a list needs at least one row below the header",
        ));
    }
    if errors.count > 0 {
        tx.rollback().await?;
        // Duplicates are found a batch late: report in row order.
        errors.list.sort_by_key(|e| e.row);
        return Err(UploadError::Rows {
            errors: errors.list,
            count: errors.count,
        });
    }
    meta.row_count = rows;
    meta.sha256 = content.finish();
    db::finish(&mut tx, &list_id, rows, &meta.sha256).await?;
    let entry = audit::append(&mut tx, who, "list.create", "list", &list_id, &meta.sha256).await?;
    tx.commit().await?;
    Ok(Uploaded {
        list: meta,
        ignored_columns,
        audit_seq: entry.seq,
    })
}

async fn flush(
    tx: &mut crate::store::Tx,
    backend: crate::store::Backend,
    list_id: &str,
    batch: &mut Vec<RowIn>,
    id_title: &str,
    errors: &mut Errors,
) -> Result<(), UploadError> {
    if batch.is_empty() {
        return Ok(());
    }
    let rows = std::mem::take(batch);
    for (row, first) in db::insert_rows(tx, backend, list_id, &rows).await? {
        let id = rows
            .iter()
            .find(|r| r.row_no == row)
            .map_or("", |r| r.record_id.as_str());
        errors.push(RowError::new(
            row as u64,
            id_title,
            id,
            format!("duplicate id: row {first} has the same id"),
        ));
    }
    *batch = rows;
    batch.clear();
    Ok(())
}

/// Why a list cannot be deleted.
#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    #[error("no list {0}")]
    NotFound(String),
    #[error("list {list} is used by task(s) {}: a used list is kept as it is", .tasks.join(", "))]
    Used { list: String, tasks: Vec<String> },
    #[error(transparent)]
    Db(#[from] crate::store::StoreError),
}

/// Deletes an unused list (its rows; the metadata stays, marked deleted). Audited.
pub async fn delete(store: &Store, id: &str, who: &Actor) -> Result<i64, DeleteError> {
    let mut tx = store.begin().await?;
    let Some(meta) = db::get(&mut *tx, id).await? else {
        return Err(DeleteError::NotFound(id.to_string()));
    };
    if meta.deleted_at.is_some() {
        return Err(DeleteError::NotFound(id.to_string()));
    }
    let tasks = db::uses(&mut *tx, id).await?;
    let at = tx.now();
    if !tasks.is_empty() || !db::delete(&mut tx, id, &who.sub, &at).await? {
        return Err(DeleteError::Used {
            list: id.to_string(),
            tasks,
        });
    }
    let entry = audit::append(&mut tx, who, "list.delete", "list", id, &meta.sha256).await?;
    tx.commit().await?;
    Ok(entry.seq)
}

// ---- sample tasks over a list (the task lifecycle's hooks) ----

use crate::domain::task::TaskInput;
use crate::draw::sample::{
    Condition, Derivation, Grouping, Matcher, RecordColumn, RecordStratum, Records, ValueCap,
    cap_shortfalls, value_hash, value_text,
};
use crate::store::Tx;
use crate::tasks::{TaskError, TaskResult};

/// At task creation: the list exists, is not deleted, and the strata's conditions fit its
/// columns.
pub async fn check_task(tx: &mut Tx, cfg: &TaskInput) -> TaskResult<()> {
    let Some(list) = &cfg.list else {
        return Ok(());
    };
    let meta = match db::get(&mut **tx, list).await? {
        Some(m) if m.deleted_at.is_none() => m,
        Some(_) => {
            return Err(TaskError::field("list", format!("list {list} was deleted")));
        }
        None => return Err(TaskError::field("list", format!("no list {list}"))),
    };
    TaskError::check(list::check_conditions(cfg, &meta.columns))
}

/// After the task is written: the list is in use (and can no longer be deleted).
pub async fn attach(tx: &mut Tx, cfg: &TaskInput, task_id: &str) -> TaskResult<()> {
    if let Some(list) = &cfg.list {
        db::add_use(tx, list, task_id).await?;
    }
    Ok(())
}

/// The pool of a list task at sealing: per stratum (in the task's order), the member hashes
/// of the records it selects, sorted, each with an empty region; and the snapshot's
/// `records` (B.12). The list is streamed in member order, never held whole.
pub async fn pool(
    tx: &mut Tx,
    cfg: &TaskInput,
    list_id: &str,
    tree_rows: u64,
) -> TaskResult<(Vec<Vec<(String, String)>>, Records)> {
    let meta = db::get(&mut **tx, list_id)
        .await?
        .filter(|m| m.deleted_at.is_none())
        .ok_or_else(|| TaskError::field("list", format!("no list {list_id}")))?;
    let salt_hex = db::salt(&mut **tx, list_id)
        .await?
        .ok_or_else(|| TaskError::field("list", format!("no list {list_id}")))?;
    let salt = hex::decode(&salt_hex).map_err(|e| TaskError::internal(e.to_string()))?;
    // Snapshot order: strata by id; a record goes to the first whose conditions hold.
    let mut order: Vec<usize> = (0..cfg.strata.len()).collect();
    order.sort_by(|&a, &b| cfg.strata[a].id.cmp(&cfg.strata[b].id));
    let records = Records {
        list_sha256: meta.sha256.clone(),
        list_rows: meta.row_count.max(0) as u64,
        id_column: meta.id_column.clone(),
        columns: meta
            .columns
            .iter()
            .map(|c| RecordColumn {
                name: c.name.clone(),
                kind: serde_json::to_value(c.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            })
            .collect(),
        salt_commitment: list::salt_commitment(&salt),
        derivation: None,
        strata: order
            .iter()
            .map(|&i| {
                let s = &cfg.strata[i];
                RecordStratum {
                    cap: None,
                    group: None,
                    trees: None,
                    stratum: s.id.clone(),
                    conditions: s
                        .records
                        .iter()
                        .flatten()
                        .map(|(col, values)| {
                            let mut values = values.clone();
                            values.sort();
                            values.dedup();
                            Condition {
                                column: col.clone(),
                                values,
                            }
                        })
                        .collect(),
                }
            })
            .collect(),
    };
    let mut records = records;
    // A derived list (B.17): its rule goes into the snapshot.
    records.derivation = db::derivation(tx, list_id)
        .await?
        .map(|(kind, rule, _)| Derivation {
            kind,
            rule: serde_json::from_str(&rule).unwrap_or(Value::Null),
        });
    let matcher = Matcher::new(&records).map_err(|e| TaskError::field("strata", e))?;
    let column = |name: &str| meta.columns.iter().position(|c| c.name == name);
    // Per snapshot stratum: the column index of its cap and of its group (B.15, B.16).
    let extra: Vec<(Option<usize>, Option<usize>)> = order
        .iter()
        .map(|&i| {
            let s = &cfg.strata[i];
            (
                s.cap.as_ref().and_then(|c| column(&c.column)),
                s.group_by.as_deref().and_then(column),
            )
        })
        .collect();
    // A large list: the tree form (B.18), streamed, nothing per record kept.
    if records.list_rows > tree_rows {
        let salt = salt.to_vec();
        let records = tree::seal(
            tx,
            cfg,
            list_id,
            &meta.columns,
            &salt,
            records,
            &order,
            &extra,
        )
        .await?;
        return Ok((vec![Vec::new(); cfg.strata.len()], records));
    }
    type Member = (String, Option<String>, Option<String>);
    let mut found: Vec<Vec<Member>> = vec![Vec::new(); cfg.strata.len()];
    db::each_row(&mut **tx, list_id, |row| {
        let values: Vec<Value> =
            serde_json::from_str(&row.attrs).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        if let Some(s) = matcher.stratum_of(&values) {
            let vh = |col: Option<usize>| {
                col.map(|c| {
                    let text = values.get(c).map(value_text).unwrap_or_default();
                    value_hash(&salt, &meta.columns[c].name, &text)
                })
            };
            let (cap, group) = extra[s];
            found[s].push((row.member, vh(cap), vh(group)));
        }
        Ok(())
    })
    .await?;
    let mut candidates: Vec<Vec<(String, String)>> = vec![Vec::new(); cfg.strata.len()];
    for (s, mut members) in found.into_iter().enumerate() {
        let i = order[s];
        let st = &cfg.strata[i];
        // Snapshot order: members sorted bytewise (as the snapshot sorts them).
        members.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let rs = &mut records.strata[s];
        if let Some(c) = &st.cap {
            rs.cap = Some(ValueCap {
                column: c.column.clone(),
                max: c.max,
                values: members
                    .iter()
                    .map(|m| m.1.clone().unwrap_or_default())
                    .collect(),
            });
        }
        if let Some(g) = &st.group_by {
            rs.group = Some(Grouping {
                column: g.clone(),
                values: members
                    .iter()
                    .map(|m| m.2.clone().unwrap_or_default())
                    .collect(),
            });
        }
        candidates[i] = members.into_iter().map(|m| (m.0, String::new())).collect();
        if rs.cap.is_some() {
            let probe = crate::draw::Stratum {
                id: st.id.clone(),
                ratio: crate::draw::Ratio {
                    num: st.ratio.num,
                    den: st.ratio.den,
                },
                min: st.min,
                max: st.max,
                members: candidates[i]
                    .iter()
                    .map(|(id, _)| crate::draw::Member {
                        id: id.clone(),
                        region: None,
                    })
                    .collect(),
            };
            if let Some((group, k, most)) = cap_shortfalls(&probe, rs).into_iter().next() {
                let cap = st.cap.as_ref().expect("capped");
                return Err(TaskError::field(
                    format!("strata[{i}].cap.max"),
                    format!(
                        "stratum {}{}: the count is {k} but at most {} per {} allows only {most} record(s); lower the count or raise the cap",
                        st.id,
                        group
                            .map(|g| format!(" (group with value hash {g})"))
                            .unwrap_or_default(),
                        cap.max,
                        cap.column,
                    ),
                ));
            }
        }
    }
    Ok((candidates, records))
}

// ---- reading a list file offline (`suiji verify --list`) ----

/// One record read from a file: its id and typed values, or why the row is bad.
pub type RecordRow = Result<(String, Vec<Value>), String>;

/// The records of a list file as the upload reads them: `(id, typed values)` in file
/// order, for the columns named (the id column and each attribute column by its title).
/// An unreadable file, a missing column or a bad cell is an error naming the row.
pub fn read_file(
    path: &std::path::Path,
    id_column: &str,
    columns: &[ListColumn],
) -> Result<Vec<RecordRow>, String> {
    use crate::bulk::source::{Format, detect_encoding_streaming, format_of_path};
    let name = path.display().to_string();
    let open = || std::fs::File::open(path).map_err(|e| format!("cannot read {name}: {e}"));
    let mut first = [0u8; 4];
    let n = std::io::Read::read(&mut open()?, &mut first).unwrap_or(0);
    let mut table = match format_of_path(path, &first[..n]) {
        Format::Csv => {
            let encoding = detect_encoding_streaming(open()?, |_| {})
                .map_err(|e| format!("cannot read {name}: {e}"))?;
            Table::csv(
                Box::new(std::io::BufReader::with_capacity(1 << 20, open()?)),
                encoding,
            )
        }
        Format::Xlsx => Table::xlsx(std::io::BufReader::new(open()?))
            .map_err(|e| format!("{name}: row {}: {}", e.row, e.reason))?,
    };
    let mut cells = Vec::new();
    let titles = match table.next_row(&mut cells) {
        Ok(Some(_)) => cells.clone(),
        Ok(None) => return Err(format!("{name}: no header row")),
        Err(e) => return Err(format!("{name}: row {}: {}", e.row, e.reason)),
    };
    let pos = |t: &str| {
        titles
            .iter()
            .position(|x| x == t)
            .ok_or_else(|| format!("{name}: the header row has no column {t:?}"))
    };
    let id_pos = pos(id_column)?;
    let col_pos: Vec<usize> = columns
        .iter()
        .map(|c| pos(&c.name))
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    loop {
        let row = match table.next_row(&mut cells) {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                out.push(Err(format!("{name}: row {}: {}", e.row, e.reason)));
                break;
            }
        };
        let cell = |p: usize| cells.get(p).map_or("", String::as_str);
        let id = cell(id_pos).to_string();
        let item = list::parse_id(&id)
            .map_err(|r| format!("{name}: row {row}, column {id_column}: {r}"))
            .and_then(|()| {
                columns
                    .iter()
                    .zip(&col_pos)
                    .map(|(c, &p)| {
                        list::parse_cell(c.kind, cell(p))
                            .map_err(|r| format!("{name}: row {row}, column {}: {r}", c.name))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .map(|values| (id, values));
        out.push(item);
    }
    Ok(out)
}
