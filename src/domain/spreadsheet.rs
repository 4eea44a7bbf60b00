//! Spreadsheet safety for every CSV a person may open in Excel, WPS or LibreOffice: a cell
//! that starts with `=`, `+`, `-`, `@` (or their full-width forms ＝＋－＠, which WPS
//! also treats as formula starts), a tab or a carriage return can be run as a formula
//! ("CSV injection"). Such a cell is written with a leading apostrophe, which spreadsheets
//! read as "this is text", and the apostrophe is removed again on import, so an export
//! still imports as is. Every CSV export calls [`csv_cell`]; the public `results.csv` can
//! call it too.
//!
//! XLSX exports write typed string cells, which no spreadsheet evaluates: they need no
//! apostrophe.

use std::borrow::Cow;

/// True when a spreadsheet could read `cell` as a formula.
pub fn starts_like_formula(cell: &str) -> bool {
    matches!(
        cell.chars().next(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '＝' | '＋' | '－' | '＠')
    )
}

/// `cell` made safe to write into a CSV file: a leading `'` when it could start a formula.
pub fn csv_cell(cell: &str) -> Cow<'_, str> {
    if starts_like_formula(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The inverse of [`csv_cell`] for an imported cell: `'=1+2` is read back as `=1+2`. A
/// cell starting with an apostrophe followed by anything else is left as it is.
pub fn imported_cell(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if starts_like_formula(rest) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_neutralised_and_read_back() {
        for cell in [
            "=HYPERLINK(\"http://x\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "＝1+1",
            "＋1",
            "－1",
            "＠x",
        ] {
            let safe = csv_cell(cell);
            assert!(safe.starts_with('\''), "{cell:?}");
            assert!(!starts_like_formula(&safe));
            assert_eq!(imported_cell(&safe), cell);
        }
        for cell in ["北京协和医院", "150602", "'quoted", ""] {
            assert_eq!(csv_cell(cell), cell);
            assert_eq!(imported_cell(cell), cell);
        }
    }
}
