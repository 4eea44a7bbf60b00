//! Writing a registry out: CSV (UTF-8 with BOM, so Excel shows Chinese correctly) or XLSX,
//! with the English column titles and codes, so an export can be imported again as is.

use super::schema::BulkRecord;

/// The BOM and the header row of a CSV export.
pub fn csv_header<T: BulkRecord>() -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    let mut w = csv::Writer::from_writer(&mut out);
    w.write_record(T::COLUMNS.iter().map(|c| c.field))
        .expect("writing to memory cannot fail");
    drop(w);
    out
}

/// CSV lines for `docs`.
pub fn csv_rows<'a, T: BulkRecord + 'a>(docs: impl IntoIterator<Item = &'a T>) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for d in docs {
        // A cell that could run as a formula in a spreadsheet gets a leading apostrophe
        // (removed again on import).
        w.write_record(
            d.to_cells()
                .iter()
                .map(|c| crate::domain::spreadsheet::csv_cell(c).into_owned()),
        )
        .expect("writing to memory cannot fail");
    }
    w.into_inner().expect("writing to memory cannot fail")
}

/// The most data rows a worksheet holds (1,048,576 rows, one for the header).
pub const XLSX_MAX_ROWS: u32 = 1_048_575;

/// An XLSX workbook written row by row; the worksheet's cells go to a temporary file
/// (constant-memory mode) rather than staying in memory.
pub struct XlsxExport {
    book: rust_xlsxwriter::Workbook,
    next_row: u32,
}

impl XlsxExport {
    pub fn new<T: BulkRecord>(sheet_name: &str) -> Result<Self, rust_xlsxwriter::XlsxError> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet_with_constant_memory()?;
        sheet.set_name(sheet_name)?;
        let bold = rust_xlsxwriter::Format::new().set_bold();
        for (c, col) in T::COLUMNS.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, col.field, &bold)?;
        }
        Ok(Self { book, next_row: 1 })
    }

    /// Appends one record; fails past the sheet's last row.
    pub fn push<T: BulkRecord>(&mut self, doc: &T) -> Result<(), rust_xlsxwriter::XlsxError> {
        if self.next_row > XLSX_MAX_ROWS {
            return Err(rust_xlsxwriter::XlsxError::RowColumnLimitError);
        }
        let sheet = self.book.worksheet_from_index(0)?;
        for (c, cell) in doc.to_cells().iter().enumerate() {
            // Codes stay text: 150602 must not become a number.
            sheet.write_string(self.next_row, c as u16, cell)?;
        }
        self.next_row += 1;
        Ok(())
    }

    pub fn finish(mut self) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        self.book.save_to_buffer()
    }
}

/// Fetches the page of records after a cursor.
pub type Pager<T> = std::sync::Arc<
    dyn Fn(
            Option<String>,
        ) -> futures_util::future::BoxFuture<
            'static,
            Result<
                (Vec<crate::store::records::Stored<T>>, Option<String>),
                crate::store::StoreError,
            >,
        > + Send
        + Sync,
>;

/// Writes the workbook of every record `pager` yields, page by page; the sheet's cells go
/// to a temporary file, the compressed workbook is returned from memory. More rows than a
/// worksheet holds is refused as a bad `format`.
pub async fn xlsx_workbook<T: BulkRecord>(
    pager: Pager<T>,
    name: &str,
) -> crate::error::ApiResult<Vec<u8>> {
    use crate::error::ApiError;
    let xlsx_err = |e: rust_xlsxwriter::XlsxError| match e {
        rust_xlsxwriter::XlsxError::RowColumnLimitError => ApiError::field(
            "format",
            "more rows than a worksheet holds (1,048,575): export as CSV or narrow the filters",
        ),
        other => ApiError::Internal(anyhow::Error::new(other)),
    };
    let mut book = XlsxExport::new::<T>(name).map_err(xlsx_err)?;
    let mut after = None;
    loop {
        let (items, next) = pager(after).await?;
        for s in &items {
            book.push(&s.data).map_err(xlsx_err)?;
        }
        match next {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    tokio::task::spawn_blocking(move || book.finish())
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?
        .map_err(xlsx_err)
}
