//! Targeted inspections: the named institutions as the registry holds them now.

use super::Tx;
use sqlx::Row;

/// A named institution's region and status, or nothing if the registry has no such id.
pub struct Named {
    pub id: String,
    pub region: String,
    pub status: String,
}

/// The registry rows of the named ids (unknown ids are simply absent), by id.
pub async fn named_institutions(tx: &mut Tx, ids: &[String]) -> Result<Vec<Named>, sqlx::Error> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let row = sqlx::query("SELECT id, region, status FROM institutions WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        if let Some(r) = row {
            out.push(Named {
                id: r.try_get("id")?,
                region: r.try_get("region")?,
                status: r.try_get("status")?,
            });
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}
