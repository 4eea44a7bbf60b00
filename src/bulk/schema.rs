//! The columns of each registry file, their English and Chinese titles, and the rules that
//! turn one row into a validated registry document (the same types and checks as the
//! single-record API).

use super::RowError;
use crate::domain::registry::{
    InspectorInput, InspectorStatus, InstitutionInput, InstitutionKind, InstitutionStatus, Level,
    Ownership, RiskGrade,
};
use crate::domain::{CreditCode, DepartmentCode, RegionCode};
use crate::error::FieldError;
use crate::store::records::Record;
use std::collections::HashMap;

/// One column of a registry file.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The English title: the field name of the JSON API.
    pub field: &'static str,
    /// The Chinese title.
    pub zh: &'static str,
    /// Other titles seen in exports of other systems.
    pub aliases: &'static [&'static str],
    pub required: bool,
}

const fn col(
    field: &'static str,
    zh: &'static str,
    aliases: &'static [&'static str],
    required: bool,
) -> Column {
    Column {
        field,
        zh,
        aliases,
        required,
    }
}

/// What a row needs from the database to be understood.
#[derive(Debug, Default, Clone)]
pub struct Context {
    /// Department codes and Chinese names → code.
    pub departments: HashMap<String, String>,
}

/// A registry document that can be read from and written to a row.
pub trait BulkRecord: Record + Clone {
    const COLUMNS: &'static [Column];
    /// The natural key: its field name, which is also its column in the database.
    const KEY: &'static str;
    fn key(&self) -> &str;
    /// Builds the document from the cells of a row, in `COLUMNS` order ("" when absent),
    /// or says which fields are wrong and why.
    fn from_cells(cells: &[&str], ctx: &Context) -> Result<Self, Vec<FieldError>>;
    /// The row of an export, in `COLUMNS` order.
    fn to_cells(&self) -> Vec<String>;
    /// Fields a file does not carry, kept from the current version on upsert.
    fn keep_from(&mut self, _current: &Self) {}
    /// The department a record belongs to, when writing it needs that department's rights.
    fn department(&self) -> Option<&str> {
        None
    }
    /// The region a record lies in, when writing it needs that region's jurisdiction.
    fn region(&self) -> Option<&str> {
        None
    }
}

/// Where each column of `COLUMNS` is in the file, and its title there.
#[derive(Debug, Clone)]
pub struct HeaderMap {
    pub position: Vec<Option<usize>>,
    pub title: Vec<String>,
}

fn normalize(title: &str) -> String {
    title
        .trim()
        .trim_start_matches('\u{feff}')
        .trim()
        .to_lowercase()
        .replace([' ', '-'], "_")
}

/// Maps the header row (row `row`) onto the columns; every problem is a row error.
pub fn map_header(
    columns: &[Column],
    header: &[String],
    row: u64,
) -> Result<HeaderMap, Vec<RowError>> {
    let mut position = vec![None; columns.len()];
    let mut title: Vec<String> = columns.iter().map(|c| c.field.to_string()).collect();
    let mut errors = Vec::new();
    for (i, raw) in header.iter().enumerate() {
        if raw.is_empty() {
            continue;
        }
        let n = normalize(raw);
        let found = columns
            .iter()
            .position(|c| n == c.field || n == c.zh || c.aliases.iter().any(|a| normalize(a) == n));
        match found {
            None => errors.push(RowError::new(
                row,
                raw,
                raw,
                format!(
                    "unknown column; the columns are: {}",
                    columns
                        .iter()
                        .map(|c| format!("{} ({})", c.field, c.zh))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            Some(c) if position[c].is_some() => errors.push(RowError::new(
                row,
                raw,
                raw,
                format!("column {} appears twice", columns[c].field),
            )),
            Some(c) => {
                position[c] = Some(i);
                title[c] = raw.clone();
            }
        }
    }
    for (c, column) in columns.iter().enumerate() {
        if column.required && position[c].is_none() {
            errors.push(RowError::new(
                row,
                format!("{} ({})", column.field, column.zh),
                "",
                "required column is missing from the header row",
            ));
        }
    }
    if errors.is_empty() {
        Ok(HeaderMap { position, title })
    } else {
        Err(errors)
    }
}

/// Splits a list cell: items separated by `;`, `；`, `、` or `|`.
pub fn split_list(cell: &str) -> Vec<String> {
    cell.split([';', '；', '、', '|'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Chinese words accepted in place of the codes of a vocabulary.
fn alias<'a>(field: &str, value: &'a str) -> &'a str {
    match (field, value) {
        ("kind", "定点医疗机构" | "医疗机构" | "定点医院" | "医院") => {
            "designated_hospital"
        }
        ("kind", "定点零售药店" | "零售药店" | "药店") => "retail_pharmacy",
        ("kind", "村卫生室") => "village_clinic",
        ("kind", "其他") => "other",
        ("level", "三级") => "tertiary",
        ("level", "二级") => "secondary",
        ("level", "一级") => "primary",
        ("level", "基层") => "community",
        ("level", "无" | "未定级" | "") => "none",
        ("ownership", "公立") => "public",
        ("ownership", "民营" | "私立") => "private",
        ("institution_status", "正常" | "在用" | "有效" | "") => "active",
        ("institution_status", "暂停" | "停业") => "suspended",
        ("institution_status", "关闭" | "注销") => "closed",
        ("inspector_status", "在岗" | "正常" | "") => "active",
        ("inspector_status", "休假" | "请假") => "on_leave",
        ("inspector_status", "退休") => "retired",
        ("risk_grade", "A级" | "a" | "a级") => "A",
        ("risk_grade", "B级" | "b" | "b级") => "B",
        ("risk_grade", "C级" | "c" | "c级") => "C",
        ("risk_grade", "D级" | "d" | "d级") => "D",
        _ => value,
    }
}

/// Collects the outcome of parsing one field.
fn field<T>(errors: &mut Vec<FieldError>, name: &str, r: Result<T, String>) -> Option<T> {
    r.map_err(|reason| errors.push(FieldError::new(name, reason)))
        .ok()
}

/// The column a validation error belongs to: `tags[2]` → `tags`.
pub fn column_of(field: &str) -> &str {
    field.split(['[', '.']).next().unwrap_or(field)
}

impl BulkRecord for InstitutionInput {
    const COLUMNS: &'static [Column] = &[
        col(
            "credit_code",
            "统一社会信用代码",
            &["信用代码", "社会信用代码"],
            true,
        ),
        col("name", "机构名称", &["名称", "单位名称"], true),
        col("kind", "机构类型", &["类型", "类别"], true),
        col("level", "医院等级", &["等级", "级别"], false),
        col("ownership", "所有制", &["经营性质", "所有制形式"], true),
        col("region", "行政区划", &["行政区划代码", "区划代码"], true),
        col("address", "地址", &["详细地址"], false),
        col(
            "risk_grade",
            "信用等级",
            &["风险等级", "信用风险等级"],
            true,
        ),
        col("status", "状态", &[], false),
        col("tags", "标签", &[], false),
    ];
    const KEY: &'static str = "credit_code";

    fn key(&self) -> &str {
        self.credit_code.as_str()
    }

    fn region(&self) -> Option<&str> {
        Some(self.region.as_str())
    }

    fn from_cells(c: &[&str], _: &Context) -> Result<Self, Vec<FieldError>> {
        let mut e = Vec::new();
        let credit_code = field(&mut e, "credit_code", CreditCode::parse(c[0]));
        let kind = field(&mut e, "kind", InstitutionKind::parse(alias("kind", c[2])));
        let level = field(&mut e, "level", Level::parse(alias("level", c[3])));
        let ownership = field(
            &mut e,
            "ownership",
            Ownership::parse(alias("ownership", c[4])),
        );
        let region = field(&mut e, "region", RegionCode::parse(c[5]));
        let risk_grade = field(
            &mut e,
            "risk_grade",
            RiskGrade::parse(alias("risk_grade", c[7])),
        );
        let status = field(
            &mut e,
            "status",
            InstitutionStatus::parse(alias("institution_status", c[8])),
        );
        match (
            credit_code,
            kind,
            level,
            ownership,
            region,
            risk_grade,
            status,
        ) {
            (
                Some(credit_code),
                Some(kind),
                Some(level),
                Some(ownership),
                Some(region),
                Some(risk_grade),
                Some(status),
            ) if e.is_empty() => {
                let doc = InstitutionInput {
                    credit_code,
                    name: c[1].to_string(),
                    kind,
                    level,
                    ownership,
                    region,
                    address: c[6].to_string(),
                    risk_grade,
                    status,
                    tags: split_list(c[9]),
                };
                let errors = doc.validate();
                if errors.is_empty() {
                    Ok(doc)
                } else {
                    Err(errors)
                }
            }
            _ => Err(e),
        }
    }

    fn to_cells(&self) -> Vec<String> {
        vec![
            self.credit_code.to_string(),
            self.name.clone(),
            self.kind.to_string(),
            self.level.to_string(),
            self.ownership.to_string(),
            self.region.as_str().to_string(),
            self.address.clone(),
            self.risk_grade.to_string(),
            self.status.to_string(),
            self.tags.join(";"),
        ]
    }
}

impl BulkRecord for InspectorInput {
    const COLUMNS: &'static [Column] = &[
        col("department", "所属部门", &["部门"], true),
        col("name", "姓名", &[], true),
        col(
            "certificate_no",
            "执法证号",
            &["证件号", "执法证编号"],
            true,
        ),
        col("region", "行政区划", &["行政区划代码", "区划代码"], true),
        col("status", "状态", &[], false),
        col("expertise", "专业领域", &["专业", "专长"], false),
    ];
    const KEY: &'static str = "certificate_no";

    fn key(&self) -> &str {
        &self.certificate_no
    }

    fn from_cells(c: &[&str], ctx: &Context) -> Result<Self, Vec<FieldError>> {
        let mut e = Vec::new();
        let department = field(
            &mut e,
            "department",
            match ctx.departments.get(c[0]) {
                Some(code) => DepartmentCode::parse(code),
                None => Err(format!(
                    "no department '{}' (use a department code or its Chinese name)",
                    c[0]
                )),
            },
        );
        let region = field(&mut e, "region", RegionCode::parse(c[3]));
        let status = field(
            &mut e,
            "status",
            InspectorStatus::parse(alias("inspector_status", c[4])),
        );
        match (department, region, status) {
            (Some(department), Some(region), Some(status)) if e.is_empty() => {
                let doc = InspectorInput {
                    department,
                    name: c[1].to_string(),
                    certificate_no: c[2].to_string(),
                    region,
                    status,
                    expertise: split_list(c[5]),
                    conflicts: Vec::new(),
                };
                let errors = doc.validate();
                if errors.is_empty() {
                    Ok(doc)
                } else {
                    Err(errors)
                }
            }
            _ => Err(e),
        }
    }

    fn to_cells(&self) -> Vec<String> {
        vec![
            self.department.to_string(),
            self.name.clone(),
            self.certificate_no.clone(),
            self.region.as_str().to_string(),
            self.status.to_string(),
            self.expertise.join(";"),
        ]
    }

    /// Conflicts of interest are declared through the API, never in a file: an import
    /// keeps them.
    fn keep_from(&mut self, current: &Self) {
        self.conflicts = current.conflicts.clone();
    }

    fn department(&self) -> Option<&str> {
        Some(self.department.as_str())
    }

    fn region(&self) -> Option<&str> {
        Some(self.region.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(titles: &[&str]) -> Vec<String> {
        titles.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn headers_in_both_languages() {
        let h = map_header(
            InstitutionInput::COLUMNS,
            &header(&[
                "统一社会信用代码",
                "机构名称",
                "机构类型",
                "所有制",
                "行政区划",
                "信用等级",
            ]),
            1,
        )
        .unwrap();
        assert_eq!(h.position[0], Some(0));
        assert_eq!(h.position[3], None);
        let h = map_header(
            InstitutionInput::COLUMNS,
            &header(&[
                "Credit Code",
                "name",
                "kind",
                "ownership",
                "region",
                "risk_grade",
            ]),
            1,
        )
        .unwrap();
        assert_eq!(h.title[0], "Credit Code");
        let errs = map_header(
            InstitutionInput::COLUMNS,
            &header(&["name", "colour", "name"]),
            1,
        )
        .unwrap_err();
        let reasons: Vec<&str> = errs.iter().map(|e| e.reason.as_str()).collect();
        assert!(reasons[0].starts_with("unknown column"));
        assert!(reasons[1].contains("twice"));
        assert!(reasons.iter().any(|r| r.contains("missing")));
    }

    #[test]
    fn chinese_values_and_errors_by_field() {
        let ctx = Context::default();
        let ok = InstitutionInput::from_cells(
            &[
                "91350100M000100Y43",
                "准格尔旗人民医院",
                "定点医疗机构",
                "二级",
                "公立",
                "150622",
                "",
                "B",
                "",
                "医共体；县域",
            ],
            &ctx,
        )
        .unwrap();
        assert_eq!(ok.kind, InstitutionKind::DesignatedHospital);
        assert_eq!(ok.tags, vec!["医共体", "县域"]);
        let err = InstitutionInput::from_cells(
            &[
                "91350100M000100Y4Z",
                "x",
                "castle",
                "",
                "公立",
                "150622",
                "",
                "B",
                "",
                "",
            ],
            &ctx,
        )
        .unwrap_err();
        let fields: Vec<&str> = err.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["credit_code", "kind"]);
    }
}
