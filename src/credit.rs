//! The credit publicity export (issue 15 part 8): market regulation passes the results of
//! its inspections to the national enterprise credit publicity system (国家企业信用信息公示
//! 系统; 谁产生、谁公示、谁负责), keyed by 统一社会信用代码. One row per published result
//! (its current version) of a public task in which market regulation took part, published
//! since a date, as CSV or XLSX in the layout of [`COLUMNS`]; every export is recorded in
//! the delivery log (who, when, since, rows, SHA-256 of the file) and audited.

use crate::auth::{Principal, Role};
use crate::domain::result::china_date;
use crate::domain::spreadsheet::csv_cell;
use crate::domain::targeted::TaskMode;
use crate::store::credit::{self as store, Delivery};
use crate::store::{Store, audit, new_id};
use crate::tasks::{TaskError, TaskResult, policy};
use chrono::NaiveDate;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use utoipa::ToSchema;

/// Rows in one export, at most: a larger one is refused (choose a later `since`).
pub const MAX_ROWS: i64 = 200_000;
/// Deliveries listed at most.
pub const MAX_LOG: i64 = 1_000;
/// The department whose results are exported.
pub const MARKET_REGULATION: &str = "market_regulation";

/// The columns, in order: the exchange fields of 双随机抽查结果 as the national system's
/// public documents name them (统一社会信用代码 … 检查结果, 公示日期), then what suiji adds
/// to trace a row back (task, result version, correction), documented in the README.
pub const COLUMNS: [&str; 17] = [
    "统一社会信用代码",
    "企业名称",
    "检查实施机关",
    "检查类型",
    "检查方式",
    "检查日期",
    "检查结果",
    "检查结果代码",
    "处理方式",
    "罚款金额（元）",
    "追回金额（元）",
    "处罚决定书文号",
    "公示日期",
    "地区代码",
    "任务编号",
    "结果版本",
    "更正说明",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn code(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// An export: the file and its log entry.
pub struct Export {
    pub body: Vec<u8>,
    pub delivery: DeliveryView,
}

/// One delivery as logged.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CreditDelivery)]
pub struct DeliveryView {
    pub id: String,
    #[schema(value_type = String, format = Date)]
    pub since: String,
    /// `csv` or `xlsx`.
    pub format: String,
    /// The region exported (empty: everywhere).
    pub region_prefix: String,
    pub row_count: i64,
    /// SHA-256 of the file as delivered (hex).
    pub sha256: String,
    pub exported_by: String,
    pub exported_at: String,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            since: d.since,
            format: d.format,
            region_prefix: d.region_prefix,
            row_count: d.row_count,
            sha256: d.sha256,
            exported_by: d.exported_by,
            exported_at: d.exported_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CreditDeliveryLog)]
pub struct DeliveryLog {
    pub items: Vec<DeliveryView>,
}

/// The lines of an export (cells as text; money in yuan), before the file is written.
pub async fn lines(
    db: &Store,
    since: NaiveDate,
    region_prefix: &str,
) -> TaskResult<Vec<[String; 17]>> {
    // Published on or after `since` in China: from 16:00 UTC of the day before.
    let start = since
        .pred_opt()
        .ok_or_else(|| TaskError::field("since", "out of range"))?;
    let since_utc = format!("{start}T16:00:00.000Z");
    let mut conn = db.read().await?;
    let (rows, tasks) =
        store::results_since(&mut *conn, &since_utc, region_prefix, MAX_ROWS + 1).await?;
    if rows.len() as i64 > MAX_ROWS {
        return Err(TaskError::field(
            "since",
            format!("more than {MAX_ROWS} results since this date: export from a later date"),
        ));
    }
    let departments = crate::store::read_model::department_names(db).await?;
    let mut orgs: HashMap<String, String> = HashMap::new();
    for cfg in tasks.values() {
        if let Some(code) = &cfg.organization
            && !orgs.contains_key(code)
            && let Some(o) = crate::store::organizations::by_code(&mut *conn, code).await?
        {
            orgs.insert(code.clone(), o.data.name);
        }
    }
    drop(conn);
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(cfg) = tasks.get(&r.task_id) else {
            continue;
        };
        let with_mr = cfg.lead_department.as_str() == MARKET_REGULATION
            || cfg
                .departments
                .iter()
                .any(|d| d.code.as_str() == MARKET_REGULATION);
        if !with_mr {
            continue;
        }
        let dept = |code: &str| {
            departments
                .get(code)
                .map_or(code.to_string(), |(zh, _)| zh.clone())
        };
        // 检查实施机关: the task's organization (or lead department) and, for a joint
        // inspection, the departments with it.
        let authority = match cfg.organization.as_ref().and_then(|c| orgs.get(c)) {
            Some(name) => name.clone(),
            None => dept(cfg.lead_department.as_str()),
        };
        let others: Vec<String> = cfg
            .departments
            .iter()
            .filter(|d| d.code != cfg.lead_department)
            .map(|d| dept(d.code.as_str()))
            .collect();
        let authority = if others.is_empty() {
            authority
        } else {
            format!("{authority}（会同{}）", others.join("、"))
        };
        let kind = match cfg.mode() {
            TaskMode::Random => "双随机抽查",
            TaskMode::Targeted => "定向检查",
            TaskMode::Recheck => "抽查复查",
        };
        let method = if cfg.departments.len() > 1 {
            "部门联合抽查"
        } else {
            "本部门抽查"
        };
        let handling: Vec<&str> = r
            .data
            .handling_forms()
            .into_iter()
            .map(|f| f.label_zh())
            .collect();
        out.push([
            r.credit_code,
            r.name,
            authority,
            kind.to_string(),
            method.to_string(),
            r.data.inspection_date.to_string(),
            r.data.category.label_zh().to_string(),
            r.data.category.code().to_string(),
            handling.join("；"),
            yuan(r.data.amounts.penalty_fen),
            yuan(r.data.amounts.fund_recovered_fen),
            // Not recorded by suiji: the penalty decision's number is entered in the
            // national system by the deciding authority (assumption, see the README).
            String::new(),
            china_date(&r.published_at)
                .map(|d| d.to_string())
                .unwrap_or_default(),
            r.region,
            r.task_id,
            r.version.to_string(),
            r.data.correction_reason.clone().unwrap_or_default(),
        ]);
    }
    Ok(out)
}

fn csv(lines: &[[String; 17]]) -> TaskResult<Vec<u8>> {
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(COLUMNS)
            .map_err(|e| TaskError::internal(format!("csv: {e}")))?;
        for l in lines {
            w.write_record(l.iter().map(|c| csv_cell(c).into_owned()))
                .map_err(|e| TaskError::internal(format!("csv: {e}")))?;
        }
        w.flush()
            .map_err(|e| TaskError::internal(format!("csv: {e}")))?;
    }
    Ok(out)
}

fn xlsx(lines: &[[String; 17]]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("抽查结果")?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (c, t) in COLUMNS.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *t, &bold)?;
    }
    for (r, l) in lines.iter().enumerate() {
        for (c, v) in l.iter().enumerate() {
            let (row, col) = (r as u32 + 1, c as u16);
            // Money as numbers; every other cell a typed string (never a formula).
            if (9..=10).contains(&c)
                && let Ok(n) = v.parse::<f64>()
            {
                sheet.write_number(row, col, n)?;
            } else {
                sheet.write_string(row, col, v)?;
            }
        }
    }
    book.save_to_buffer()
}

/// The region an export covers: the asked prefix (2, 4 or 6 digits) or the caller's
/// organization's; a coordinator only within its organization.
fn scope(who: &Principal, asked: Option<&str>) -> TaskResult<String> {
    let prefix = match asked {
        Some(p) => {
            if !(p.len() <= 6 && p.len().is_multiple_of(2) && p.bytes().all(|b| b.is_ascii_digit()))
            {
                return Err(TaskError::field(
                    "region_prefix",
                    "must be 2, 4 or 6 digits of a division code",
                ));
            }
            p.to_string()
        }
        None => who
            .organization
            .as_ref()
            .map(|o| o.region_prefix.clone())
            .unwrap_or_default(),
    };
    policy::may_read_region(who, &prefix, "credit publicity export")?;
    Ok(prefix)
}

/// Exports the results published since `since` and records the delivery (audited).
pub async fn export(
    db: &Store,
    who: &Principal,
    since: NaiveDate,
    region_prefix: Option<&str>,
    format: Format,
) -> TaskResult<Export> {
    policy::credit_export(who)?;
    let mut e = Vec::new();
    crate::domain::registry::check_date(&mut e, "since", since);
    TaskError::check(e)?;
    let prefix = scope(who, region_prefix)?;
    let lines = lines(db, since, &prefix).await?;
    let body = match format {
        Format::Csv => csv(&lines)?,
        Format::Xlsx => xlsx(&lines).map_err(|e| TaskError::internal(format!("xlsx: {e}")))?,
    };
    let sha = hex::encode(Sha256::digest(&body));
    let actor = who.actor();
    let d = Delivery {
        id: new_id(),
        since: since.to_string(),
        format: format.code().into(),
        region_prefix: prefix,
        row_count: lines.len() as i64,
        sha256: sha.clone(),
        exported_by: format!("{}:{}", actor.role, actor.sub),
        exported_at: db
            .clock()
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    };
    let mut tx = db.begin().await?;
    store::insert_delivery(&mut tx, &d).await?;
    audit::append(
        &mut tx,
        &actor,
        "credit.export",
        "credit_delivery",
        &d.id,
        &sha,
    )
    .await?;
    tx.commit().await?;
    Ok(Export {
        body,
        delivery: d.into(),
    })
}

/// The delivery log, newest first: admins, auditors and market regulation's coordinators.
pub async fn log(db: &Store, who: &Principal, limit: i64) -> TaskResult<DeliveryLog> {
    if who.role != Role::Auditor {
        policy::credit_export(who)?;
    }
    Ok(DeliveryLog {
        items: store::deliveries(&mut *db.read().await?, limit)
            .await?
            .into_iter()
            .map(DeliveryView::from)
            .collect(),
    })
}
