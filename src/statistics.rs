//! Statistics (issue 15 part 6): the monthly table of seed 001 (《打击欺诈骗取医疗保障
//! 基金专项治理情况统计表》), per organization, month, department or institution kind,
//! with its consistency rules checked; and the counties' monthly submissions, frozen and
//! hashed, that the city sees and aggregates.
//!
//! The unit is the inspection (家次: one drawn institution of one task, with its current
//! result), so rows add up: a city's figures are the sum of its counties'. Its month is
//! the result's inspection date, or the task's inspection start while no result is in.
//! Column 1 (the registered base) is the active institutions in scope, now.

use crate::auth::Principal;
use crate::domain::result::{HandlingForm, InspectionMethod, ResultCategory, ResultInput};
use crate::domain::stored::StoredTaskConfig;
use crate::store::statistics as store;
use crate::store::{Store, audit};
use crate::tasks::{TaskError, TaskResult, policy};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use utoipa::ToSchema;

/// The columns of the table, numbered as seed 001's 统计表 (一) numbers them; the handling
/// columns 5–12 are [`HandlingForm::column`]. After 18, what seed 002's tables add.
pub const COLUMNS: [(&str, &str); 22] = [
    ("1", "定点医药机构数"),
    ("2", "检查机构数（家次）"),
    ("3", "查实违规机构数（家次）"),
    ("4", "处理机构数（家次）"),
    ("5", "约谈"),
    ("6", "限期整改"),
    ("7", "追回基金"),
    ("8", "收取违约金"),
    ("9", "暂停协议"),
    ("10", "解除协议"),
    ("11", "行政处罚"),
    ("12", "移送公安、纪检监察或其他部门"),
    ("13", "挂牌督办"),
    ("14", "违规例数（病历数）"),
    ("15", "追回金额（元）"),
    ("16", "其中：医保统筹基金（元）"),
    ("17", "其中：违约金（元）"),
    ("18", "行政处罚金额（元）"),
    ("19", "网上稽核（家次）"),
    ("20", "举报稽核（家次）"),
    ("21", "实地稽核（家次）"),
    ("22", "已公开结果（家次）"),
];

/// One line of the table. Money in fen (the CSV and XLSX show yuan).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Figures {
    /// 1 定点医药机构数 (active institutions in scope).
    pub c1_institutions: i64,
    /// 2 检查机构数: inspections with a result recorded.
    pub c2_inspected: i64,
    /// 3 查实违规: results finding a problem (category other than no problem or activity
    /// not found, or violations counted).
    pub c3_violating: i64,
    /// 4 处理机构数: results with at least one handling form of columns 5–12.
    pub c4_handled: i64,
    /// 5–12 by handling form (one result may count in several).
    pub c5_interview: i64,
    pub c6_rectification: i64,
    pub c7_recovery: i64,
    pub c8_liquidated_damages: i64,
    pub c9_agreement_suspended: i64,
    pub c10_agreement_terminated: i64,
    pub c11_administrative_penalty: i64,
    pub c12_referred: i64,
    /// 13 挂牌督办 (counted apart).
    pub c13_supervised: i64,
    /// 14 违规例数.
    pub c14_violation_cases: i64,
    /// 15 追回金额 = 16 + 17.
    pub c15_recovered_fen: i64,
    /// 16 医保统筹基金 (principal).
    pub c16_principal_fen: i64,
    /// 17 违约金.
    pub c17_liquidated_damages_fen: i64,
    /// 18 行政处罚金额.
    pub c18_penalty_fen: i64,
    /// 19–21 by inspection method (seed 002 table 3).
    pub c19_online: i64,
    pub c20_tip: i64,
    pub c21_on_site: i64,
    /// 22 results whose current version is published.
    pub c22_published: i64,
    /// Drawn institutions (the base of the result-entry rate).
    pub drawn: i64,
    /// Distinct institutions inspected (the numerator of coverage).
    pub distinct_institutions: i64,
}

impl Figures {
    pub fn add_result(&mut self, r: &ResultInput, published: bool) {
        self.c2_inspected += 1;
        let violating = !matches!(
            r.category,
            ResultCategory::NoProblem | ResultCategory::ActivityNotFound
        ) || r.violation_cases() > 0;
        self.c3_violating += i64::from(violating);
        let forms = r.handling_forms();
        let mut handled = false;
        let mut col12 = false;
        for f in &forms {
            let c = match f {
                HandlingForm::Interview => &mut self.c5_interview,
                HandlingForm::Rectification => &mut self.c6_rectification,
                HandlingForm::Recovery => &mut self.c7_recovery,
                HandlingForm::LiquidatedDamages => &mut self.c8_liquidated_damages,
                HandlingForm::AgreementSuspended => &mut self.c9_agreement_suspended,
                HandlingForm::AgreementTerminated => &mut self.c10_agreement_terminated,
                HandlingForm::AdministrativePenalty => &mut self.c11_administrative_penalty,
                HandlingForm::ReferredPolice
                | HandlingForm::ReferredDiscipline
                | HandlingForm::ReferredOther => {
                    // One institution counts once in column 12, however many referrals.
                    if col12 {
                        continue;
                    }
                    col12 = true;
                    &mut self.c12_referred
                }
                HandlingForm::Supervised => {
                    self.c13_supervised += 1;
                    continue;
                }
            };
            *c += 1;
            handled = true;
        }
        self.c4_handled += i64::from(handled);
        self.c14_violation_cases += r.violation_cases();
        self.c15_recovered_fen += r.amounts.fund_recovered_fen;
        self.c16_principal_fen += r.principal_fen();
        self.c17_liquidated_damages_fen += r.damages_fen();
        self.c18_penalty_fen += r.amounts.penalty_fen;
        match r.method {
            Some(InspectionMethod::Online) => self.c19_online += 1,
            Some(InspectionMethod::Tip) => self.c20_tip += 1,
            Some(InspectionMethod::OnSite) => self.c21_on_site += 1,
            None => {}
        }
        self.c22_published += i64::from(published);
    }

    /// Adds another line (a county's into the city's).
    pub fn add(&mut self, o: &Figures) {
        let a = self.as_array();
        let b = o.as_array();
        let mut sum = [0i64; 24];
        for i in 0..24 {
            sum[i] = a[i].saturating_add(b[i]);
        }
        *self = Figures::from_array(sum);
    }

    fn as_array(&self) -> [i64; 24] {
        [
            self.c1_institutions,
            self.c2_inspected,
            self.c3_violating,
            self.c4_handled,
            self.c5_interview,
            self.c6_rectification,
            self.c7_recovery,
            self.c8_liquidated_damages,
            self.c9_agreement_suspended,
            self.c10_agreement_terminated,
            self.c11_administrative_penalty,
            self.c12_referred,
            self.c13_supervised,
            self.c14_violation_cases,
            self.c15_recovered_fen,
            self.c16_principal_fen,
            self.c17_liquidated_damages_fen,
            self.c18_penalty_fen,
            self.c19_online,
            self.c20_tip,
            self.c21_on_site,
            self.c22_published,
            self.drawn,
            self.distinct_institutions,
        ]
    }

    fn from_array(a: [i64; 24]) -> Self {
        Figures {
            c1_institutions: a[0],
            c2_inspected: a[1],
            c3_violating: a[2],
            c4_handled: a[3],
            c5_interview: a[4],
            c6_rectification: a[5],
            c7_recovery: a[6],
            c8_liquidated_damages: a[7],
            c9_agreement_suspended: a[8],
            c10_agreement_terminated: a[9],
            c11_administrative_penalty: a[10],
            c12_referred: a[11],
            c13_supervised: a[12],
            c14_violation_cases: a[13],
            c15_recovered_fen: a[14],
            c16_principal_fen: a[15],
            c17_liquidated_damages_fen: a[16],
            c18_penalty_fen: a[17],
            c19_online: a[18],
            c20_tip: a[19],
            c21_on_site: a[20],
            c22_published: a[21],
            drawn: a[22],
            distinct_institutions: a[23],
        }
    }

    /// The cells of columns 1–22 as the CSV and XLSX show them (money in yuan).
    pub fn cells(&self) -> Vec<String> {
        let a = self.as_array();
        (0..22)
            .map(|i| {
                if (14..18).contains(&i) {
                    let sign = if a[i] < 0 { "-" } else { "" };
                    let abs = a[i].unsigned_abs();
                    format!("{sign}{}.{:02}", abs / 100, abs % 100)
                } else {
                    a[i].to_string()
                }
            })
            .collect()
    }

    /// The table's consistency rules, each with whether it holds.
    pub fn checks(&self) -> Vec<Check> {
        let handling_sum = self.c5_interview
            + self.c6_rectification
            + self.c7_recovery
            + self.c8_liquidated_damages
            + self.c9_agreement_suspended
            + self.c10_agreement_terminated
            + self.c11_administrative_penalty
            + self.c12_referred;
        vec![
            Check {
                rule: "4 ≤ 5+6+7+8+9+10+11+12".into(),
                holds: self.c4_handled <= handling_sum,
            },
            Check {
                rule: "3 ≤ 2".into(),
                holds: self.c3_violating <= self.c2_inspected,
            },
            Check {
                rule: "15 = 16 + 17".into(),
                holds: self.c15_recovered_fen
                    == self.c16_principal_fen + self.c17_liquidated_damages_fen,
            },
            Check {
                rule: "19+20+21 ≤ 2".into(),
                holds: self.c19_online + self.c20_tip + self.c21_on_site <= self.c2_inspected,
            },
        ]
    }

    pub fn rates(&self) -> Rates {
        let ratio = |a: i64, b: i64| (b > 0).then(|| format!("{:.4}", a as f64 / b as f64));
        Rates {
            coverage: ratio(self.distinct_institutions, self.c1_institutions),
            result_entry: ratio(self.c2_inspected, self.drawn),
            publication: ratio(self.c22_published, self.c2_inspected),
        }
    }
}

/// A consistency rule of the table and whether it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Check {
    pub rule: String,
    pub holds: bool,
}

/// Rates as decimal strings with 4 places (null when the base is 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Rates {
    /// Distinct institutions inspected / column 1.
    pub coverage: Option<String>,
    /// Results recorded / institutions drawn.
    pub result_entry: Option<String>,
    /// Results published / results recorded.
    pub publication: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Org,
    Month,
    Department,
    Kind,
}

/// One line of the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SummaryRow {
    /// The group's key (organization code, YYYY-MM, department code or kind); `total`
    /// for the total line.
    pub group: String,
    pub figures: Figures,
    pub rates: Rates,
    pub checks: Vec<Check>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Summary {
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    pub region_prefix: String,
    pub group_by: Option<GroupBy>,
    /// Column numbers and titles, as seed 001 numbers them.
    pub columns: Vec<ColumnTitle>,
    pub rows: Vec<SummaryRow>,
    pub total: SummaryRow,
    /// Whether every rule holds on every line.
    pub consistent: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ColumnTitle {
    pub number: String,
    pub title: String,
}

fn row(group: String, figures: Figures) -> SummaryRow {
    SummaryRow {
        group,
        rates: figures.rates(),
        checks: figures.checks(),
        figures,
    }
}

/// The title of the summary table, as seed 001's tables head it, with the period and the
/// region it covers.
pub fn title(from: NaiveDate, to: NaiveDate, region_prefix: &str) -> String {
    format!(
        "打击欺诈骗取医疗保障基金专项治理情况统计表（{from} 至 {to}{}）",
        if region_prefix.is_empty() {
            String::new()
        } else {
            format!("，区划 {region_prefix}")
        }
    )
}

/// The summary over `[from, to]` in `region_prefix` (everything when empty).
pub async fn summary(
    db: &Store,
    from: NaiveDate,
    to: NaiveDate,
    region_prefix: &str,
    group_by: Option<GroupBy>,
) -> TaskResult<Summary> {
    if to < from {
        return Err(TaskError::field("to", "must not be before from"));
    }
    let mut conn = db.read().await?;
    let tasks: HashMap<String, (String, Option<String>, NaiveDate)> =
        store::drawn_tasks(&mut *conn)
            .await?
            .into_iter()
            .filter_map(|(id, lead, config)| {
                let c: StoredTaskConfig = serde_json::from_str(&config).ok()?;
                Some((id, (lead, c.organization, c.inspection_start)))
            })
            .collect();
    let counts = store::institution_counts(&mut *conn).await?;
    let mut groups: BTreeMap<String, Figures> = BTreeMap::new();
    let mut distinct: BTreeMap<String, std::collections::HashSet<String>> = BTreeMap::new();
    let mut regions_of: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    // Rows are aggregated as the database streams them (never all in memory).
    store::each_drawn_row(&mut *conn, region_prefix, |r| {
        let Some((lead, org, start)) = tasks.get(&r.task_id) else {
            return;
        };
        let date = r.result.as_ref().map_or(*start, |x| x.inspection_date);
        if date < from || date > to {
            return;
        }
        let key = match group_by {
            None => "total".to_string(),
            Some(GroupBy::Org) => org.clone().unwrap_or_else(|| lead.clone()),
            Some(GroupBy::Month) => format!("{:04}-{:02}", date.year(), date.month()),
            Some(GroupBy::Department) => lead.clone(),
            Some(GroupBy::Kind) => r.kind.clone(),
        };
        let f = groups.entry(key.clone()).or_default();
        f.drawn += 1;
        if let Some(result) = &r.result {
            f.add_result(result, r.published);
            distinct
                .entry(key.clone())
                .or_default()
                .insert(r.institution_id);
        }
        regions_of.entry(key).or_default().insert(r.region);
    })
    .await?;
    drop(conn);
    // Column 1: the active institutions of the scope (of the group's kind when grouped
    // by kind; for organizations, of the regions their inspections covered).
    let base = |kind: Option<&str>, prefix: &str| -> i64 {
        counts
            .iter()
            .filter(|(region, k, _)| {
                region.starts_with(prefix) && kind.is_none_or(|x| x == k.as_str())
            })
            .map(|(_, _, n)| *n)
            .sum()
    };
    let all_base = base(None, region_prefix);
    for (key, f) in groups.iter_mut() {
        f.distinct_institutions = distinct.get(key).map_or(0, |s| s.len() as i64);
        f.c1_institutions = match group_by {
            Some(GroupBy::Kind) => base(Some(key), region_prefix),
            _ => all_base,
        };
    }
    let mut total = Figures::default();
    for f in groups.values() {
        total.add(f);
    }
    total.c1_institutions = all_base;
    total.distinct_institutions = distinct
        .values()
        .flatten()
        .collect::<std::collections::HashSet<_>>()
        .len() as i64;
    let rows: Vec<SummaryRow> = if group_by.is_some() {
        groups.into_iter().map(|(k, f)| row(k, f)).collect()
    } else {
        Vec::new()
    };
    let total = row("total".into(), total);
    let consistent = rows
        .iter()
        .chain(std::iter::once(&total))
        .all(|r| r.checks.iter().all(|c| c.holds));
    Ok(Summary {
        from,
        to,
        region_prefix: region_prefix.into(),
        group_by,
        columns: columns(),
        rows,
        total,
        consistent,
    })
}

pub fn columns() -> Vec<ColumnTitle> {
    COLUMNS
        .iter()
        .map(|(n, t)| ColumnTitle {
            number: (*n).into(),
            title: (*t).into(),
        })
        .collect()
}

/// The CSV of a summary: a title line, the column numbers, the titles, one line per row
/// and the total (money in yuan), then the rules.
pub fn csv(s: &Summary, title: &str) -> String {
    use crate::domain::spreadsheet::csv_cell;
    let mut out = String::new();
    let line = |cells: Vec<String>| -> String {
        let c: Vec<String> = cells
            .iter()
            .map(|x| {
                let x = csv_cell(x);
                if x.contains([',', '"', '\n']) {
                    format!("\"{}\"", x.replace('"', "\"\""))
                } else {
                    x.into_owned()
                }
            })
            .collect();
        c.join(",") + "\r\n"
    };
    out.push_str(&line(vec![title.to_string()]));
    let mut numbers = vec!["甲".to_string()];
    numbers.extend(COLUMNS.iter().map(|(n, _)| n.to_string()));
    out.push_str(&line(numbers));
    let mut titles = vec!["单位/分组".to_string()];
    titles.extend(COLUMNS.iter().map(|(_, t)| t.to_string()));
    out.push_str(&line(titles));
    for r in s.rows.iter().chain(std::iter::once(&s.total)) {
        let mut cells = vec![if r.group == "total" {
            "合计".to_string()
        } else {
            r.group.clone()
        }];
        cells.extend(r.figures.cells());
        out.push_str(&line(cells));
    }
    out.push_str(&line(vec![
        "注：1.因一个定点医疗机构有多种处理形式，所以 4≤5+6+7+8+9+10+11+12；2.违规例数指违规的病历数；3.“医保统筹基金”是指追回的基金本金，“追回金额”包括违约金和基金本金。".into(),
    ]));
    for c in &s.total.checks {
        out.push_str(&line(vec![
            format!("校验 {}", c.rule),
            if c.holds { "成立" } else { "不成立" }.into(),
        ]));
    }
    out
}

/// The XLSX of a summary, laid out as the CSV.
pub fn xlsx(s: &Summary, title: &str) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("统计表")?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    sheet.write_string_with_format(0, 0, title, &bold)?;
    sheet.write_string_with_format(1, 0, "甲", &bold)?;
    sheet.write_string_with_format(2, 0, "单位/分组", &bold)?;
    for (i, (n, t)) in COLUMNS.iter().enumerate() {
        let c = (i + 1) as u16;
        sheet.write_string_with_format(1, c, *n, &bold)?;
        sheet.write_string_with_format(2, c, *t, &bold)?;
    }
    let mut r = 3u32;
    for line in s.rows.iter().chain(std::iter::once(&s.total)) {
        sheet.write_string(
            r,
            0,
            if line.group == "total" {
                "合计"
            } else {
                &line.group
            },
        )?;
        let a = line.figures.as_array();
        for (i, v) in a.iter().take(22).enumerate() {
            let c = (i + 1) as u16;
            if (14..18).contains(&i) {
                sheet.write_number(r, c, *v as f64 / 100.0)?;
            } else {
                sheet.write_number(r, c, *v as f64)?;
            }
        }
        r += 1;
    }
    sheet.write_string(
        r + 1,
        0,
        "注：1.因一个定点医疗机构有多种处理形式，所以 4≤5+6+7+8+9+10+11+12；2.违规例数指违规的病历数；3.“医保统筹基金”是指追回的基金本金，“追回金额”包括违约金和基金本金。",
    )?;
    book.save_to_buffer()
}

// ---- monthly submissions ----

/// The month `YYYY-MM` as its first and last day.
pub fn month_range(month: &str) -> Option<(NaiveDate, NaiveDate)> {
    if month.len() != 7 || month.as_bytes()[4] != b'-' {
        return None;
    }
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()?;
    let next = first.checked_add_months(chrono::Months::new(1))?;
    Some((first, next.pred_opt()?))
}

/// When a month's report is due: the 5th of the next month (seed 001: 每月5日前报送 — a
/// calendar date, not working days; on time if submitted on the 5th, China time).
pub fn due_date(month: &str) -> Option<NaiveDate> {
    let (first, _) = month_range(month)?;
    let next = first.checked_add_months(chrono::Months::new(1))?;
    NaiveDate::from_ymd_opt(next.year(), next.month(), 5)
}

/// A submitted report as frozen.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubmissionView {
    pub organization: String,
    pub month: String,
    pub region_prefix: String,
    /// SHA-256 of the frozen report's canonical JSON.
    pub sha256: String,
    pub submitted_by: String,
    pub submitted_at: String,
    /// Submitted after the due date (China time).
    pub late: bool,
    pub report: Summary,
}

fn view(s: store::Submission) -> TaskResult<SubmissionView> {
    let report: Summary =
        serde_json::from_str(&s.data).map_err(|e| TaskError::internal(e.to_string()))?;
    let due = due_date(&s.month);
    let submitted = crate::domain::result::china_date(&s.submitted_at);
    Ok(SubmissionView {
        late: matches!((due, submitted), (Some(d), Some(t)) if t > d),
        organization: s.organization,
        month: s.month,
        region_prefix: s.region_prefix,
        sha256: s.sha256,
        submitted_by: s.submitted_by,
        submitted_at: s.submitted_at,
        report,
    })
}

/// An organization submits its month: the summary of its region for the month, frozen
/// (never changes again), hashed and audited. Once per organization and month.
pub async fn submit(
    db: &Store,
    who: &Principal,
    organization: &str,
    month: &str,
) -> TaskResult<SubmissionView> {
    let Some((from, to)) = month_range(month) else {
        return Err(TaskError::field("month", "must be YYYY-MM"));
    };
    policy::submit_statistics(who, organization)?;
    let org = crate::store::organizations::by_code(&mut *db.read().await?, organization)
        .await?
        .ok_or_else(|| TaskError::NotFound(format!("no organization {organization}")))?;
    let now = db.clock().now();
    let today = crate::domain::result::china_date(
        &now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    )
    .unwrap_or(to);
    if today <= to {
        return Err(TaskError::Conflict(format!(
            "month {month} is not over yet (today is {today}): submit it from the 1st of the next month"
        )));
    }
    let report = summary(db, from, to, &org.data.region_prefix, Some(GroupBy::Kind)).await?;
    let value = serde_json::to_value(&report).map_err(|e| TaskError::internal(e.to_string()))?;
    let canonical =
        crate::draw::canonical_json(&value).map_err(|e| TaskError::internal(e.to_string()))?;
    let sha = hex::encode(Sha256::digest(&canonical));
    let data = String::from_utf8(canonical).map_err(|e| TaskError::internal(e.to_string()))?;
    let mut tx = db.begin().await?;
    let actor = who.actor();
    let at = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    if !store::insert_submission(
        &mut tx,
        organization,
        month,
        &org.data.region_prefix,
        &data,
        &sha,
        &actor,
        Some(at),
    )
    .await?
    {
        return Err(TaskError::Conflict(format!(
            "{organization} has submitted {month} already; a submitted report is frozen"
        )));
    }
    audit::append(
        &mut tx,
        &actor,
        "statistics.submit",
        "organization",
        organization,
        &sha,
    )
    .await?;
    tx.commit().await?;
    let s = store::submissions(&mut *db.read().await?, month)
        .await?
        .into_iter()
        .find(|s| s.organization == organization)
        .ok_or_else(|| TaskError::internal("a submitted report vanished"))?;
    view(s)
}

/// One subordinate organization's state for a month.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubmissionStatus {
    pub organization: String,
    pub name: String,
    pub region_prefix: String,
    /// `submitted`, `late` (submitted after the due date), `missing` (not yet, not due)
    /// or `overdue` (not submitted and past due).
    pub status: String,
    pub submission: Option<SubmissionView>,
}

/// What the city sees for a month: each subordinate organization's submission (or that
/// it is late) and the aggregate of the submitted reports.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonthOverview {
    pub organization: String,
    pub month: String,
    #[schema(value_type = String, format = Date)]
    pub due: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub as_of: NaiveDate,
    pub subordinates: Vec<SubmissionStatus>,
    /// The submitted reports' totals summed (columns 1–22), one row per organization.
    pub aggregate: Summary,
}

pub async fn overview(
    db: &Store,
    who: &Principal,
    organization: &str,
    month: &str,
    as_of: NaiveDate,
) -> TaskResult<MonthOverview> {
    let (Some((from, to)), Some(due)) = (month_range(month), due_date(month)) else {
        return Err(TaskError::field("month", "must be YYYY-MM"));
    };
    let mut conn = db.read().await?;
    let org = crate::store::organizations::by_code(&mut *conn, organization)
        .await?
        .ok_or_else(|| TaskError::NotFound(format!("no organization {organization}")))?;
    policy::may_read_region(who, &org.data.region_prefix, "statistics")?;
    let children: Vec<_> = crate::store::organizations::list(&mut *conn, None)
        .await?
        .into_iter()
        .filter(|o| o.data.parent.as_deref() == Some(organization))
        .collect();
    let submitted = store::submissions(&mut *conn, month).await?;
    drop(conn);
    let mut subordinates = Vec::new();
    let mut rows = Vec::new();
    let mut total = Figures::default();
    for c in children {
        let sub = submitted
            .iter()
            .find(|s| s.organization == c.data.code)
            .cloned()
            .map(view)
            .transpose()?;
        let status = match &sub {
            Some(s) if s.late => "late",
            Some(_) => "submitted",
            None if as_of > due => "overdue",
            None => "missing",
        };
        if let Some(s) = &sub {
            total.add(&s.report.total.figures);
            rows.push(row(s.organization.clone(), s.report.total.figures.clone()));
        }
        subordinates.push(SubmissionStatus {
            organization: c.data.code.clone(),
            name: c.data.name.clone(),
            region_prefix: c.data.region_prefix.clone(),
            status: status.into(),
            submission: sub,
        });
    }
    let total = row("total".into(), total);
    let consistent = rows
        .iter()
        .chain(std::iter::once(&total))
        .all(|r| r.checks.iter().all(|c| c.holds));
    Ok(MonthOverview {
        organization: organization.into(),
        month: month.into(),
        due,
        as_of,
        subordinates,
        aggregate: Summary {
            from,
            to,
            region_prefix: org.data.region_prefix.clone(),
            group_by: Some(GroupBy::Org),
            columns: columns(),
            rows,
            total,
            consistent,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_on_the_fifth_of_the_next_month() {
        assert_eq!(due_date("2025-12"), NaiveDate::from_ymd_opt(2026, 1, 5));
        assert_eq!(due_date("2025-09"), NaiveDate::from_ymd_opt(2025, 10, 5));
        assert_eq!(
            month_range("2024-02").map(|r| r.1),
            NaiveDate::from_ymd_opt(2024, 2, 29)
        );
        assert!(month_range("2024-2").is_none());
    }
}
