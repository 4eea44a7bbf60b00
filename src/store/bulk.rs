//! Bulk writes of registry records: a batch of rows is looked up by natural key in one
//! query and written with multi-row INSERTs, so a million rows take a few thousand
//! statements. Every inserted or updated record gets its `record_history` version row,
//! exactly as a single-record write would; the caller appends one audit entry for the
//! whole import.

use super::records::Record;
use super::{Backend, Tx, dynamic};
use crate::domain::Actor;
use sqlx::Row;
use std::collections::HashMap;

/// Bound parameters per statement: below SQLite's 32766 and PostgreSQL's 65535.
const MAX_PARAMS: usize = 30_000;
/// Rows per multi-row INSERT.
pub const MAX_ROWS: usize = 500;

/// The current version of a record found by its natural key.
#[derive(Debug, Clone)]
pub struct Current<T> {
    pub id: String,
    pub version: i64,
    /// Loaded only when asked for (upsert needs it, insert does not).
    pub data: Option<T>,
}

/// The records of table `T` whose `key_column` is one of `keys`, by key.
pub async fn current_by_key<T: Record>(
    tx: &mut Tx,
    backend: Backend,
    key_column: &str,
    keys: &[&str],
    with_data: bool,
) -> Result<HashMap<String, Current<T>>, sqlx::Error> {
    let mut out = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(MAX_ROWS) {
        let data_col = if with_data { ", data" } else { "" };
        let sql = format!(
            "SELECT {key_column} AS k, id, version{data_col} FROM {} WHERE {key_column} IN ({})",
            T::TABLE,
            list(backend, chunk.len())
        );
        let mut q = sqlx::query(dynamic(sql));
        for k in chunk {
            q = q.bind(k.to_string());
        }
        for row in q.fetch_all(&mut **tx).await? {
            let data = if with_data {
                let json: String = row.try_get("data")?;
                Some(super::records::decode(&json)?)
            } else {
                None
            };
            out.insert(
                row.try_get("k")?,
                Current {
                    id: row.try_get("id")?,
                    version: row.try_get("version")?,
                    data,
                },
            );
        }
    }
    Ok(out)
}

/// A record version to write: a new record (version 1) or the next version of one.
pub struct Write<'a, T> {
    pub id: String,
    pub version: i64,
    pub data: &'a T,
}

/// The `n`-th (1-based) placeholder of a statement. SQLite gets anonymous `?`: sqlx
/// looks up the name of every numbered parameter, which SQLite finds by a linear scan,
/// so binding thousands of `$N` parameters takes quadratic time (83 % of an import's
/// time when measured). PostgreSQL needs `$N`.
fn placeholder(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Sqlite => "?".to_string(),
        Backend::Postgres => format!("${n}"),
    }
}

/// `$1, $2, …` (or `?, ?, …`) for `n` values.
fn list(backend: Backend, n: usize) -> String {
    (1..=n)
        .map(|i| placeholder(backend, i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($1, $2), ($3, $4), …` for `rows` rows of `width` values.
pub(crate) fn values_clause(backend: Backend, rows: usize, width: usize) -> String {
    let mut s = String::with_capacity(rows * width * 6);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..width {
            if c > 0 {
                s.push_str(", ");
            }
            s.push_str(&placeholder(backend, r * width + c + 1));
        }
        s.push(')');
    }
    s
}

fn rows_per_statement(width: usize) -> usize {
    (MAX_PARAMS / width).clamp(1, MAX_ROWS)
}

/// Writes new records and new versions of existing ones, with their history rows and
/// tag mirrors. An update whose version moved meanwhile fails with `RowNotFound`.
pub async fn write<T: Record>(
    tx: &mut Tx,
    backend: Backend,
    actor: &Actor,
    inserts: &[Write<'_, T>],
    updates: &[Write<'_, T>],
) -> Result<(), sqlx::Error> {
    if inserts.is_empty() && updates.is_empty() {
        return Ok(());
    }
    let at = tx.now();
    let json = |w: &Write<'_, T>| super::records::encode(w.data);
    let insert_json: Vec<String> = inserts.iter().map(json).collect::<Result<_, _>>()?;
    let update_json: Vec<String> = updates.iter().map(json).collect::<Result<_, _>>()?;

    if let Some(first) = inserts.first() {
        let names: Vec<&str> = first.data.columns().iter().map(|(n, _)| *n).collect();
        let width = 5 + names.len();
        let per = rows_per_statement(width);
        for (chunk, jsons) in inserts.chunks(per).zip(insert_json.chunks(per)) {
            let sql = format!(
                "INSERT INTO {} (id, version, data, created_at, updated_at, {}) VALUES {}",
                T::TABLE,
                names.join(", "),
                values_clause(backend, chunk.len(), width)
            );
            let mut q = sqlx::query(dynamic(sql));
            for (w, j) in chunk.iter().zip(jsons) {
                q = q
                    .bind(w.id.clone())
                    .bind(w.version)
                    .bind(j.clone())
                    .bind(at.clone())
                    .bind(at.clone());
                for (_, v) in w.data.columns() {
                    q = q.bind(v);
                }
            }
            q.execute(&mut **tx).await?;
        }
    }

    for (w, j) in updates.iter().zip(&update_json) {
        let cols = w.data.columns();
        let sets: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(i, (n, _))| format!("{n} = ${}", i + 6))
            .collect();
        let sql = format!(
            "UPDATE {} SET version = $1, data = $2, updated_at = $3, {} WHERE id = $4 AND version = $5",
            T::TABLE,
            sets.join(", ")
        );
        let mut q = sqlx::query(dynamic(sql))
            .bind(w.version)
            .bind(j.clone())
            .bind(at.clone())
            .bind(w.id.clone())
            .bind(w.version - 1);
        for (_, v) in cols {
            q = q.bind(v);
        }
        if q.execute(&mut **tx).await?.rows_affected() != 1 {
            return Err(sqlx::Error::RowNotFound);
        }
    }

    // One history row per version written, as records::insert/update write them.
    let all: Vec<(&Write<'_, T>, &String)> = inserts
        .iter()
        .zip(&insert_json)
        .chain(updates.iter().zip(&update_json))
        .collect();
    let per = rows_per_statement(6);
    for chunk in all.chunks(per) {
        let sql = format!(
            "INSERT INTO record_history (object_type, object_id, version, data, actor, at) VALUES {}",
            values_clause(backend, chunk.len(), 6)
        );
        let mut q = sqlx::query(dynamic(sql));
        for (w, j) in chunk {
            q = q
                .bind(T::OBJECT)
                .bind(w.id.clone())
                .bind(w.version)
                .bind((*j).clone())
                .bind(actor.sub.clone())
                .bind(at.clone());
        }
        q.execute(&mut **tx).await?;
    }

    write_tags(tx, backend, inserts, updates).await
}

/// Keeps `<object>_tags` equal to the tags of the versions just written.
async fn write_tags<T: Record>(
    tx: &mut Tx,
    backend: Backend,
    inserts: &[Write<'_, T>],
    updates: &[Write<'_, T>],
) -> Result<(), sqlx::Error> {
    let has_tags = inserts
        .first()
        .or(updates.first())
        .is_some_and(|w| w.data.tags().is_some());
    if !has_tags {
        return Ok(());
    }
    let table = format!("{}_tags", T::OBJECT);
    let fk = format!("{}_id", T::OBJECT);
    for chunk in updates.chunks(MAX_ROWS) {
        let mut q = sqlx::query(dynamic(format!(
            "DELETE FROM {table} WHERE {fk} IN ({})",
            list(backend, chunk.len())
        )));
        for w in chunk {
            q = q.bind(w.id.clone());
        }
        q.execute(&mut **tx).await?;
    }
    let pairs: Vec<(&str, &str)> = inserts
        .iter()
        .chain(updates)
        .flat_map(|w| {
            w.data
                .tags()
                .unwrap_or_default()
                .iter()
                .map(|t| (w.id.as_str(), t.as_str()))
        })
        .collect();
    for chunk in pairs.chunks(rows_per_statement(2)) {
        let sql = format!(
            "INSERT INTO {table} ({fk}, tag) VALUES {}",
            values_clause(backend, chunk.len(), 2)
        );
        let mut q = sqlx::query(dynamic(sql));
        for (id, tag) in chunk {
            q = q.bind(id.to_string()).bind(tag.to_string());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_clauses_number_every_parameter() {
        use super::Backend::*;
        assert_eq!(super::values_clause(Postgres, 2, 2), "($1, $2), ($3, $4)");
        assert_eq!(super::values_clause(Sqlite, 2, 2), "(?, ?), (?, ?)");
        assert_eq!(super::rows_per_statement(13), 500);
        assert_eq!(super::rows_per_statement(100), 300);
    }
}
