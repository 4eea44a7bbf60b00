//! Record lists (issue 14): a named, immutable list of records (patients, bills, ledgers…)
//! with an id column and typed attribute columns declared at upload. Pure: the declared
//! columns, one cell's value, the canonical content hash and the salted member hash. The
//! SQL is in `store::lists`, the upload in `lists`, the HTTP handlers in `api::lists`.
//!
//! Personal data: a record's id may be a patient's or a bill's identifier. Nothing of a
//! list is public; in a bundle a record appears only as its member hash
//! `hex(SHA-256(salt || utf8(id)))`, the salt being 32 random bytes of the list, revealed to
//! auditors only.

use crate::draw::canonical::{HashSink, Sink, write_value};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// The type of an attribute column, declared in the upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// Any text of 1–200 characters (a category, a code, a name).
    Text,
    /// A whole number (e.g. an amount in fen), −2^53 < n < 2^53.
    Integer,
    /// A date `YYYY-MM-DD`.
    Date,
}

impl ColumnType {
    fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "text" => Some(ColumnType::Text),
            "integer" | "int" => Some(ColumnType::Integer),
            "date" => Some(ColumnType::Date),
            _ => None,
        }
    }
}

/// An attribute column: its title in the header row and its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ListColumn {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ColumnType,
}

/// A per-value cap inside a stratum of a sample over a list (B.15): at most `max` drawn
/// records share a value of `column` ("not concentrated in one disease").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RecordStratumCap)]
pub struct StratumCap {
    /// An attribute column of the list (1–100 characters).
    #[schema(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f,:]{1,100}$")]
    pub column: String,
    /// At least 1.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub max: u64,
}

/// At most this many attribute columns.
pub const MAX_COLUMNS: usize = 32;
/// The longest id and text value, in characters.
pub const MAX_TEXT: usize = 200;
/// Integers are kept within what every JSON reader (JavaScript included) reads exactly.
pub const MAX_INT: i64 = (1 << 53) - 1;

fn check_title(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a column name is empty".into());
    }
    if name.chars().count() > 100 {
        return Err(format!(
            "column name {name:?} is longer than 100 characters"
        ));
    }
    if name.chars().any(|c| c.is_control() || c == ',' || c == ':') {
        return Err(format!(
            "column name {name:?} contains a control character, ',' or ':'"
        ));
    }
    Ok(())
}

/// Parses the `columns` parameter: `name:type,name:type…` (types `text`, `integer`,
/// `date`; an empty string: no attribute column). The id column must not be among them and
/// names are unique.
pub fn parse_columns(spec: &str, id_column: &str) -> Result<Vec<ListColumn>, String> {
    check_title(id_column).map_err(|e| format!("id_column: {e}"))?;
    let mut out: Vec<ListColumn> = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, kind) = part
            .rsplit_once(':')
            .ok_or_else(|| format!("{part:?} is not name:type (types: text, integer, date)"))?;
        let name = name.trim();
        check_title(name)?;
        let kind = ColumnType::parse(kind).ok_or_else(|| {
            format!("column {name:?}: type {kind:?} is not one of text, integer, date")
        })?;
        if name == id_column {
            return Err(format!(
                "column {name:?} is the id column; declare only the attribute columns"
            ));
        }
        if out.iter().any(|c| c.name == name) {
            return Err(format!("column {name:?} is declared twice"));
        }
        out.push(ListColumn {
            name: name.to_string(),
            kind,
        });
    }
    if out.len() > MAX_COLUMNS {
        return Err(format!("at most {MAX_COLUMNS} attribute columns"));
    }
    Ok(out)
}

fn check_text(s: &str, what: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err(format!("{what} is empty"));
    }
    if s.chars().count() > MAX_TEXT {
        return Err(format!("{what} is longer than {MAX_TEXT} characters"));
    }
    if s.chars().any(|c| c.is_control() || c == '\u{fffd}') {
        return Err(format!(
            "{what} contains a control character or an undecodable byte"
        ));
    }
    Ok(())
}

/// Checks a record id (trimmed by the reader).
pub fn parse_id(s: &str) -> Result<(), String> {
    check_text(s, "the id")
}

/// One cell of an attribute column as its typed JSON value (text, integer or the date as
/// `YYYY-MM-DD` text). An empty cell is refused: every record has every attribute.
pub fn parse_cell(kind: ColumnType, s: &str) -> Result<Value, String> {
    match kind {
        ColumnType::Text => check_text(s, "the value").map(|()| Value::String(s.to_string())),
        ColumnType::Integer => {
            let n: i64 = s
                .parse()
                .map_err(|_| format!("{s:?} is not a whole number (digits, optional '-')"))?;
            if !(-MAX_INT..=MAX_INT).contains(&n) {
                return Err(format!("{n} is outside ±(2^53 − 1)"));
            }
            Ok(Value::from(n))
        }
        ColumnType::Date => {
            let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| format!("{s:?} is not a date YYYY-MM-DD"))?;
            let text = d.format("%Y-%m-%d").to_string();
            if text != s {
                return Err(format!("{s:?} is not a date YYYY-MM-DD"));
            }
            Ok(Value::String(text))
        }
    }
}

/// `hex(SHA-256(salt || utf8(id)))`: how a record appears in a snapshot and a bundle.
pub fn member_hash(salt: &[u8], id: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(id.as_bytes());
    hex::encode(h.finalize())
}

/// `hex(SHA-256(salt))`: the commitment to the salt recorded in the snapshot.
pub fn salt_commitment(salt: &[u8]) -> String {
    hex::encode(Sha256::digest(salt))
}

/// The SHA-256 of a list's canonical content, fed row by row in file order:
/// `canonical({"columns": [{"name", "type"}…], "id_column": …}) "\n"` then, per record,
/// `canonical([id, value…]) "\n"` (values typed as declared: text and dates as strings,
/// integers as numbers). Independent of the file's format, encoding and spacing.
pub struct ContentHash(HashSink);

impl ContentHash {
    pub fn new(id_column: &str, columns: &[ListColumn]) -> Self {
        let mut sink = HashSink::new();
        let header = serde_json::json!({
            "id_column": id_column,
            "columns": columns.iter().map(|c| serde_json::json!({"name": c.name, "type": c.kind})).collect::<Vec<_>>(),
        });
        write_value(&mut sink, &header).expect("no float in the header");
        sink.put(b"\n");
        ContentHash(sink)
    }

    /// Adds one record.
    pub fn row(&mut self, id: &str, values: &[Value]) {
        let mut row = Vec::with_capacity(values.len() + 1);
        row.push(Value::String(id.to_string()));
        row.extend(values.iter().cloned());
        write_value(&mut self.0, &Value::Array(row)).expect("list values are never floats");
        self.0.put(b"\n");
    }

    pub fn finish(self) -> String {
        hex::encode(self.0.finish())
    }
}

/// The rules of a task over a record list that need no database (issue 14): a list task is
/// suiji-draw/2 without teams or regions, and each stratum selects records (`records`),
/// never institutions (`filter`); a task without a list has no `records`.
pub fn validate_task(t: &crate::domain::task::TaskInput, e: &mut Vec<crate::error::FieldError>) {
    use crate::error::FieldError;
    let Some(list) = &t.list else {
        for (i, s) in t.strata.iter().enumerate() {
            if s.records.is_some() {
                e.push(FieldError::new(
                    format!("strata[{i}].records"),
                    "only a sample over a record list (`list`) selects records",
                ));
            }
            if s.cap.is_some() {
                e.push(FieldError::new(
                    format!("strata[{i}].cap"),
                    "only a sample over a record list (`list`) caps values",
                ));
            }
            if s.group_by.is_some() {
                e.push(FieldError::new(
                    format!("strata[{i}].group_by"),
                    "only a sample over a record list (`list`) draws by group",
                ));
            }
        }
        return;
    };
    for (i, s) in t.strata.iter().enumerate() {
        if let Some(c) = &s.cap {
            if let Err(r) = check_title(&c.column) {
                e.push(FieldError::new(format!("strata[{i}].cap.column"), r));
            }
            if c.max == 0 || c.max > 1_000_000 {
                e.push(FieldError::new(
                    format!("strata[{i}].cap.max"),
                    "1 to 1,000,000 records per value",
                ));
            }
        }
        if let Some(g) = &s.group_by
            && let Err(r) = check_title(g)
        {
            e.push(FieldError::new(format!("strata[{i}].group_by"), r));
        }
    }
    if list.trim().is_empty() || list.len() > 64 {
        e.push(FieldError::new("list", "the id of a record list"));
    }
    if t.protocol() != crate::domain::task::Protocol::V2 {
        e.push(FieldError::new(
            "protocol",
            "a sample over a record list is drawn with suiji-draw/2",
        ));
    }
    if !t.departments.is_empty() {
        e.push(FieldError::new(
            "departments",
            "a sample over a record list has no teams: departments must be []",
        ));
    }
    if t.cross_region {
        e.push(FieldError::new(
            "cross_region",
            "records have no region: a sample over a list cannot be cross-region",
        ));
    }
    for (i, s) in t.strata.iter().enumerate() {
        if s.filter != crate::domain::task::StratumFilter::default() {
            e.push(FieldError::new(
                format!("strata[{i}].filter"),
                "a stratum over a list selects records with `records`, not institutions with `filter`",
            ));
        }
        match &s.records {
            None => e.push(FieldError::new(
                format!("strata[{i}].records"),
                "required for a task over a list (`{}` takes every record)",
            )),
            Some(conds) => {
                for (col, values) in conds {
                    let field = format!("strata[{i}].records.{col}");
                    if values.is_empty() || values.len() > 1000 {
                        e.push(FieldError::new(&field, "1 to 1,000 accepted values"));
                    }
                    if values
                        .iter()
                        .any(|v| v.is_empty() || v.chars().count() > MAX_TEXT)
                    {
                        e.push(FieldError::new(&field, "values are 1–200 characters"));
                    }
                }
            }
        }
    }
}

/// Checks a list task's strata against the list's columns: each condition names an
/// attribute column and its values parse as that column's type (so they can match).
pub fn check_conditions(
    t: &crate::domain::task::TaskInput,
    columns: &[ListColumn],
) -> Vec<crate::error::FieldError> {
    let mut e = Vec::new();
    for (i, s) in t.strata.iter().enumerate() {
        let known = |c: &str| columns.iter().any(|x| x.name == c);
        if let Some(c) = s.cap.as_ref().filter(|c| !known(&c.column)) {
            e.push(crate::error::FieldError::new(
                format!("strata[{i}].cap.column"),
                format!("{} is not an attribute column of the list", c.column),
            ));
        }
        if let Some(g) = s.group_by.as_ref().filter(|g| !known(g)) {
            e.push(crate::error::FieldError::new(
                format!("strata[{i}].group_by"),
                format!("{g} is not an attribute column of the list"),
            ));
        }
        for (col, values) in s.records.iter().flatten() {
            let field = format!("strata[{i}].records.{col}");
            let Some(c) = columns.iter().find(|c| &c.name == col) else {
                e.push(crate::error::FieldError::new(
                    &field,
                    format!(
                        "{col} is not an attribute column of the list (columns: {})",
                        columns
                            .iter()
                            .map(|c| c.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
                continue;
            };
            for v in values {
                match parse_cell(c.kind, v) {
                    Ok(parsed) if crate::draw::sample::value_text(&parsed) == *v => {}
                    Ok(_) | Err(_) => e.push(crate::error::FieldError::new(
                        &field,
                        format!("{v:?} is not a {:?} value as the list stores it", c.kind),
                    )),
                }
            }
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_parsed_and_checked() {
        let c = parse_columns("category:text, amount_fen:integer,date:date", "bill_id").unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(c[1].kind, ColumnType::Integer);
        assert!(parse_columns("", "id").unwrap().is_empty());
        assert!(
            parse_columns("a:float", "id")
                .unwrap_err()
                .contains("float")
        );
        assert!(
            parse_columns("a:text,a:date", "id")
                .unwrap_err()
                .contains("twice")
        );
        assert!(
            parse_columns("id:text", "id")
                .unwrap_err()
                .contains("id column")
        );
        assert!(parse_columns("a", "id").unwrap_err().contains("name:type"));
    }

    #[test]
    fn cells_are_typed() {
        assert_eq!(
            parse_cell(ColumnType::Integer, "-12").unwrap(),
            Value::from(-12)
        );
        assert!(parse_cell(ColumnType::Integer, "1.5").is_err());
        assert!(parse_cell(ColumnType::Date, "2025-2-1").is_err());
        assert!(parse_cell(ColumnType::Date, "2025-02-30").is_err());
        assert_eq!(
            parse_cell(ColumnType::Date, "2025-02-01").unwrap(),
            Value::String("2025-02-01".into())
        );
        assert!(parse_cell(ColumnType::Text, "").is_err());
    }

    #[test]
    fn member_hash_is_sha256_of_salt_then_id() {
        // SHA-256("abc") with an empty salt.
        assert_eq!(
            member_hash(b"", "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(member_hash(b"a", "bc"), member_hash(b"", "abc"));
    }

    #[test]
    fn content_hash_is_the_canonical_lines() {
        let cols = parse_columns("c:text,n:integer", "id").unwrap();
        let mut h = ContentHash::new("id", &cols);
        h.row("P1", &[Value::from("门慢"), Value::from(5)]);
        let text = "{\"columns\":[{\"name\":\"c\",\"type\":\"text\"},{\"name\":\"n\",\"type\":\"integer\"}],\"id_column\":\"id\"}\n[\"P1\",\"门慢\",5]\n";
        assert_eq!(h.finish(), hex::encode(Sha256::digest(text.as_bytes())));
    }
}
