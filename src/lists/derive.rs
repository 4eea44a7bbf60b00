//! Lists derived from lists (issue 14, docs/draw-spec.md B.17): a top-N ranking of one
//! list and the intersection of several on key columns, each written as a new immutable
//! list (fresh salt, canonical content hash) with its rule, in one transaction, audited.
//! The rules themselves are pure (`domain::list_derive`).

use super::new_salt;
use crate::domain::Actor;
use crate::domain::list::{self, ContentHash};
use crate::domain::list_derive::{IntersectRule, Ranking, TopRule};
use crate::draw::sample::value_text;
use crate::error::FieldError;
use crate::store::audit;
use crate::store::lists::{self as db, ListMeta, RowIn, RowOut};
use crate::store::{Store, Tx, new_id};
use serde_json::Value;
use std::collections::HashSet;

/// Why nothing was derived.
#[derive(Debug, thiserror::Error)]
pub enum DeriveError {
    #[error("no list {0}")]
    NotFound(String),
    #[error("invalid rule")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Db(#[from] crate::store::StoreError),
}

/// A derived list and its audit entry.
pub struct Derived {
    pub list: ListMeta,
    pub audit_seq: i64,
}

async fn source(tx: &mut Tx, id: &str) -> Result<Option<ListMeta>, DeriveError> {
    Ok(db::get(&mut **tx, id)
        .await?
        .filter(|m| m.deleted_at.is_none()))
}

fn attrs(row: &RowOut) -> Result<Vec<Value>, sqlx::Error> {
    serde_json::from_str(&row.attrs).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// Writes the derived list: `rows` (id, attrs JSON) in this order, a fresh salt, the rule.
#[allow(clippy::too_many_arguments)]
async fn write(
    store: &Store,
    mut tx: Tx,
    template: &ListMeta,
    name: &str,
    kind: &str,
    rule: &str,
    sources: &[String],
    rows: Vec<(String, String)>,
    who: &Actor,
    organization: Option<String>,
) -> Result<Derived, DeriveError> {
    let salt = new_salt();
    let id = new_id();
    let mut content = ContentHash::new(&template.id_column, &template.columns);
    for (rid, a) in &rows {
        let values: Vec<Value> =
            serde_json::from_str(a).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        content.row(rid, &values);
    }
    let sha = content.finish();
    let meta = ListMeta {
        id: id.clone(),
        name: name.to_owned(),
        id_column: template.id_column.clone(),
        columns: template.columns.clone(),
        row_count: rows.len() as i64,
        sha256: sha.clone(),
        file_sha256: sha.clone(),
        format: kind.to_owned(),
        encoding: None,
        organization,
        created_by: who.sub.clone(),
        created_at: tx.now(),
        deleted_by: None,
        deleted_at: None,
    };
    db::create(&mut tx, &meta, &hex::encode(salt)).await?;
    let backend = store.backend();
    let mut batch = Vec::with_capacity(db::BATCH);
    for (i, (rid, a)) in rows.into_iter().enumerate() {
        batch.push(RowIn {
            row_no: i as i64 + 1,
            member: list::member_hash(&salt, &rid),
            record_id: rid,
            attrs: a,
        });
        if batch.len() >= db::BATCH {
            db::insert_rows(&mut tx, backend, &id, &batch).await?;
            batch.clear();
        }
    }
    db::insert_rows(&mut tx, backend, &id, &batch).await?;
    db::finish(&mut tx, &id, meta.row_count, &sha).await?;
    db::add_derivation(&mut tx, &id, kind, rule, sources).await?;
    let entry = audit::append(&mut tx, who, &format!("list.{kind}"), "list", &id, &sha).await?;
    tx.commit().await?;
    Ok(Derived {
        list: meta,
        audit_seq: entry.seq,
    })
}

/// The top-N ranking of list `id` (B.17) as a new list, in rank order.
pub async fn top(
    store: &Store,
    id: &str,
    rule: &TopRule,
    who: &Actor,
    organization: Option<String>,
) -> Result<Derived, DeriveError> {
    let mut tx = store.begin().await?;
    let Some(meta) = source(&mut tx, id).await? else {
        return Err(DeriveError::NotFound(id.to_owned()));
    };
    let errors = rule.check(&meta.columns);
    if !errors.is_empty() {
        return Err(DeriveError::Invalid(errors));
    }
    let mut ranking: Ranking<String> = Ranking::new(rule, &meta.columns);
    db::each_row(&mut *tx, id, |row| {
        let values = attrs(&row)?;
        ranking.push(&row.record_id, &values, row.attrs);
        Ok(())
    })
    .await?;
    let rows: Vec<(String, String)> = ranking
        .finish()
        .into_iter()
        .map(|(k, a)| (k.id, a))
        .collect();
    let full = serde_json::json!({"source_sha256": meta.sha256, "source_rows": meta.row_count, "rule": rule});
    let text = String::from_utf8(crate::draw::canonical_json(&full).unwrap_or_default())
        .unwrap_or_default();
    write(
        store,
        tx,
        &meta,
        &rule.name,
        "top",
        &text,
        &[id.to_owned()],
        rows,
        who,
        organization,
    )
    .await
}

/// The intersection of lists on key columns (B.17) as a new list: the first list's records
/// whose key is a key of every other list, in the first list's row order.
pub async fn intersection(
    store: &Store,
    rule: &IntersectRule,
    who: &Actor,
    organization: Option<String>,
) -> Result<Derived, DeriveError> {
    let mut errors = rule.check();
    if !errors.is_empty() {
        return Err(DeriveError::Invalid(errors));
    }
    let mut tx = store.begin().await?;
    let mut metas = Vec::new();
    for (i, k) in rule.lists.iter().enumerate() {
        match source(&mut tx, &k.list).await? {
            None => errors.push(FieldError::new(
                format!("lists[{i}].list"),
                format!("no list {}", k.list),
            )),
            Some(m) => {
                if k.key != m.id_column && !m.columns.iter().any(|c| c.name == k.key) {
                    errors.push(FieldError::new(
                        format!("lists[{i}].key"),
                        format!(
                            "{} is neither the id column nor an attribute column of list {}",
                            k.key, k.list
                        ),
                    ));
                }
                metas.push(m);
            }
        }
    }
    if !errors.is_empty() {
        return Err(DeriveError::Invalid(errors));
    }
    // The key of a record: its id, or its value's text in the key column.
    let key_of = |m: &ListMeta, key: &str, row: &RowOut| -> Result<String, sqlx::Error> {
        if key == m.id_column {
            return Ok(row.record_id.clone());
        }
        let i = m.columns.iter().position(|c| c.name == key).unwrap_or(0);
        Ok(attrs(row)?.get(i).map(value_text).unwrap_or_default())
    };
    let mut common: Option<HashSet<String>> = None;
    for (k, m) in rule.lists.iter().zip(&metas).skip(1) {
        let mut keys = HashSet::new();
        db::each_row(&mut *tx, &m.id, |row| {
            let key = key_of(m, &k.key, &row)?;
            if common.as_ref().is_none_or(|c| c.contains(&key)) {
                keys.insert(key);
            }
            Ok(())
        })
        .await?;
        common = Some(keys);
    }
    let common = common.unwrap_or_default();
    let first = &metas[0];
    let mut rows: Vec<(i64, String, String)> = Vec::new();
    db::each_row(&mut *tx, &first.id, |row| {
        if common.contains(&key_of(first, &rule.lists[0].key, &row)?) {
            rows.push((row.row_no, row.record_id, row.attrs));
        }
        Ok(())
    })
    .await?;
    rows.sort_by_key(|r| r.0);
    let full = serde_json::json!({
        "sources": rule.lists.iter().zip(&metas).map(|(k, m)| serde_json::json!({
            "list_sha256": m.sha256, "list_rows": m.row_count, "key": k.key})).collect::<Vec<_>>(),
    });
    let text = String::from_utf8(crate::draw::canonical_json(&full).unwrap_or_default())
        .unwrap_or_default();
    let sources: Vec<String> = metas.iter().map(|m| m.id.clone()).collect();
    write(
        store,
        tx,
        first,
        &rule.name,
        "intersection",
        &text,
        &sources,
        rows.into_iter().map(|(_, id, a)| (id, a)).collect(),
        who,
        organization,
    )
    .await
}
