//! Reading a registry file: format and encoding detection, and the rows of a CSV file or
//! of the first sheet of an XLSX workbook, each numbered as a spreadsheet shows it.

use std::io::{Read, Seek};

/// The two file formats accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

pub const XLSX_MIME: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// An XLSX file is a ZIP archive.
fn looks_like_zip(first_bytes: &[u8]) -> bool {
    first_bytes.starts_with(b"PK\x03\x04")
}

/// The format named by a `Content-Type` (CSV, XLSX, or unspecified and then sniffed).
pub fn format_of(content_type: Option<&str>, first_bytes: &[u8]) -> Result<Format, String> {
    let mime = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match mime.as_str() {
        "text/csv" | "application/csv" | "text/plain" => Ok(Format::Csv),
        XLSX_MIME => Ok(Format::Xlsx),
        "" | "application/octet-stream" => Ok(if looks_like_zip(first_bytes) {
            Format::Xlsx
        } else {
            Format::Csv
        }),
        other => Err(format!(
            "Content-Type {other} is not accepted: send text/csv or {XLSX_MIME}"
        )),
    }
}

/// The format of a file on disk: by extension, else by its first bytes.
pub fn format_of_path(path: &std::path::Path, first_bytes: &[u8]) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("xlsx") => Format::Xlsx,
        Some(e) if e.eq_ignore_ascii_case("csv") => Format::Csv,
        _ if looks_like_zip(first_bytes) => Format::Xlsx,
        _ => Format::Csv,
    }
}

/// Text encodings of CSV files: UTF-8 (with or without BOM) or GB18030, which includes
/// GBK and GB2312.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Gb18030,
}

impl TextEncoding {
    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Gb18030 => "GB18030",
        }
    }
}

/// Counts, over a file read in pieces, the well-formed multi-byte UTF-8 characters and the
/// bytes that cannot start or continue one.
#[derive(Debug, Default)]
struct Utf8Tally {
    valid_multibyte: u64,
    invalid: u64,
}

impl Utf8Tally {
    /// Tallies `buf`; returns how many bytes at its end are an incomplete character to be
    /// carried into the next piece.
    fn feed(&mut self, mut buf: &[u8], at_end: bool) -> usize {
        loop {
            match std::str::from_utf8(buf) {
                Ok(s) => {
                    self.count_valid(s.as_bytes());
                    return 0;
                }
                Err(e) => {
                    self.count_valid(&buf[..e.valid_up_to()]);
                    match e.error_len() {
                        Some(n) => {
                            self.invalid += 1;
                            buf = &buf[e.valid_up_to() + n..];
                        }
                        None if at_end => {
                            self.invalid += 1;
                            return 0;
                        }
                        None => return buf.len() - e.valid_up_to(),
                    }
                }
            }
        }
    }

    fn count_valid(&mut self, valid: &[u8]) {
        self.valid_multibyte += valid.iter().filter(|&&b| b >= 0xC0).count() as u64;
    }

    /// UTF-8 unless the invalid sequences are at least as many as the well-formed
    /// multi-byte characters: GB18030 text is almost never valid UTF-8, while a UTF-8 file
    /// with a stray byte still has mostly valid characters. The stray byte is then a row
    /// error naming its cell, not a reason to read the whole file in another encoding.
    fn encoding(&self) -> TextEncoding {
        if self.invalid == 0 || self.valid_multibyte > self.invalid {
            TextEncoding::Utf8
        } else {
            TextEncoding::Gb18030
        }
    }
}

/// The encoding of a whole file in memory (see [`detect_encoding_streaming`]).
pub fn detect_encoding(bytes: &[u8]) -> TextEncoding {
    let mut tally = Utf8Tally::default();
    tally.feed(bytes, true);
    tally.encoding()
}

/// Reads a stream once to tell its encoding, feeding every chunk to `each` (e.g. a hash),
/// without holding more than a chunk in memory. A file is UTF-8 unless most of its
/// non-ASCII bytes are not UTF-8; then it is GB18030 (which includes GBK and GB2312).
pub fn detect_encoding_streaming(
    mut r: impl Read,
    mut each: impl FnMut(&[u8]),
) -> std::io::Result<TextEncoding> {
    let mut buf = vec![0u8; 1 << 20];
    let mut carry = 0usize;
    let mut tally = Utf8Tally::default();
    loop {
        let n = r.read(&mut buf[carry..])?;
        if n == 0 {
            tally.feed(&buf[..carry], true);
            return Ok(tally.encoding());
        }
        each(&buf[carry..carry + n]);
        let len = carry + n;
        let keep = tally.feed(&buf[..len], false);
        buf.copy_within(len - keep..len, 0);
        carry = keep;
    }
}

/// A problem reading the file itself, at a row (and a column when one is to blame).
#[derive(Debug, Clone)]
pub struct SourceError {
    pub row: u64,
    /// The column's title in the header row (or its letter); empty for the whole row.
    pub column: String,
    pub reason: String,
}

impl SourceError {
    fn row(row: u64, reason: impl Into<String>) -> Self {
        Self {
            row,
            column: String::new(),
            reason: reason.into(),
        }
    }
}

/// Limits that keep a small crafted workbook from exhausting memory: each part of the
/// ZIP archive is decompressed (and counted) before calamine reads it.
pub mod xlsx_limits {
    /// Decompressed size of one worksheet's XML (read as a stream, never held whole).
    pub const SHEET_XML: u64 = 512 << 20;
    /// Decompressed size of the shared-strings table (calamine holds it in memory).
    pub const SHARED_STRINGS: u64 = 64 << 20;
    /// Decompressed size of any other part (styles, workbook, relationships…).
    pub const OTHER_PART: u64 = 16 << 20;
    /// Columns read: a registry file has a few dozen at most.
    pub const COLUMNS: u32 = 256;
    /// Rows of a worksheet, as in Excel.
    pub const ROWS: u32 = 1_048_576;
    /// Total text of the cells read, in bytes.
    pub const CELL_TEXT: usize = 256 << 20;
}

/// Decompresses every part of an XLSX archive, counting its bytes against the limits,
/// before anything builds on their declared sizes (which a crafted file can fake).
fn check_xlsx_archive<RS: Read + Seek>(rs: RS) -> Result<RS, SourceError> {
    use xlsx_limits::*;
    let mut zip = zip::ZipArchive::new(rs)
        .map_err(|e| SourceError::row(1, format!("not a readable XLSX workbook: {e}")))?;
    let mut sink = [0u8; 1 << 16];
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| SourceError::row(1, format!("not a readable XLSX workbook: {e}")))?;
        let name = entry.name().map(|n| n.to_string()).unwrap_or_default();
        let limit = if name.starts_with("xl/worksheets/") {
            SHEET_XML
        } else if name.eq_ignore_ascii_case("xl/sharedStrings.xml") {
            SHARED_STRINGS
        } else {
            OTHER_PART
        };
        let too_big = || {
            SourceError::row(
                1,
                format!(
                    "the workbook part {name} decompresses to more than {} MiB; split the file",
                    limit >> 20
                ),
            )
        };
        if entry.size() > limit {
            return Err(too_big());
        }
        let mut total = 0u64;
        loop {
            let n = entry.read(&mut sink).map_err(|e| {
                SourceError::row(1, format!("the workbook part {name} is damaged: {e}"))
            })?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > limit {
                return Err(too_big());
            }
        }
    }
    let mut rs = zip.into_inner();
    rs.rewind()
        .map_err(|e| SourceError::row(1, format!("reading the workbook: {e}")))?;
    Ok(rs)
}

/// The letters of a 0-based column index, as a spreadsheet names it (0 → A).
pub fn column_letters(mut col: u32) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII letters")
}

/// The cells of a worksheet's first sheet, read one by one (never as a dense range, whose
/// size a single far-away cell reference decides), within [`xlsx_limits`].
fn read_xlsx_rows<RS: Read + Seek>(rs: RS) -> Result<Vec<(u64, Vec<String>)>, SourceError> {
    use calamine::Reader;
    use xlsx_limits::*;
    let unreadable = |e: &dyn std::fmt::Display| {
        SourceError::row(1, format!("not a readable XLSX workbook: {e}"))
    };
    let rs = check_xlsx_archive(rs)?;
    let mut book: calamine::Xlsx<RS> = calamine::Xlsx::new(rs).map_err(|e| unreadable(&e))?;
    let Some(name) = book.sheet_names().first().cloned() else {
        return Err(SourceError::row(1, "the workbook has no sheet"));
    };
    let mut cells = book
        .worksheet_cells_reader(&name)
        .map_err(|e| unreadable(&e))?;
    let mut rows: std::collections::BTreeMap<u32, Vec<String>> = Default::default();
    let mut text = 0usize;
    while let Some(cell) = cells.next_cell().map_err(|e| unreadable(&e))? {
        let (r, c) = cell.get_position();
        let value = cell_text(Some(&calamine::Data::from(cell.get_value().clone())));
        if value.is_empty() {
            continue;
        }
        if r >= ROWS || c >= COLUMNS {
            return Err(SourceError {
                row: u64::from(r.min(ROWS)) + 1,
                column: column_letters(c),
                reason: format!(
                    "a cell lies beyond the {COLUMNS} columns and {ROWS} rows that are read; remove it"
                ),
            });
        }
        text += value.len();
        if text > CELL_TEXT {
            return Err(SourceError::row(
                u64::from(r) + 1,
                format!(
                    "the cells hold more than {} MiB of text; split the file",
                    CELL_TEXT >> 20
                ),
            ));
        }
        let row = rows.entry(r).or_default();
        if row.len() <= c as usize {
            row.resize(c as usize + 1, String::new());
        }
        row[c as usize] = value;
    }
    let width = rows.values().map(Vec::len).max().unwrap_or(0);
    Ok(rows
        .into_iter()
        .map(|(r, mut cells)| {
            cells.resize(width, String::new());
            (u64::from(r) + 1, cells)
        })
        .collect())
}

/// A CSV byte stream with every line break made `\n` (CRLF as Excel writes it, and a lone
/// CR as old Mac tools do), so rows are counted alike whatever the line endings. It also
/// follows the quoting, to tell where a quote that is never closed was opened.
struct CsvLines<R> {
    inner: R,
    buf: Vec<u8>,
    pending_cr: bool,
    queued: Option<u8>,
    /// Physical line (1-based) being read, after normalisation.
    line: u64,
    state: Scan,
    opened_at: u64,
    /// Set at the end of the input when a quoted cell was never closed: its line.
    unclosed: std::sync::Arc<std::sync::atomic::AtomicU64>,
    done: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scan {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

impl<R: Read> CsvLines<R> {
    fn step(&mut self, b: u8) {
        self.state = match (self.state, b) {
            (Scan::FieldStart, b'"') => {
                self.opened_at = self.line;
                Scan::Quoted
            }
            (Scan::Quoted, b'"') => Scan::QuoteInQuoted,
            (Scan::Quoted, _) => Scan::Quoted,
            (Scan::QuoteInQuoted, b'"') => Scan::Quoted,
            (_, b',' | b'\n') => Scan::FieldStart,
            (_, _) => Scan::Unquoted,
        };
        if b == b'\n' {
            self.line += 1;
        }
    }
}

impl<R: Read> Read for CsvLines<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        let mut w = 0;
        if let Some(b) = self.queued.take() {
            out[0] = b;
            w = 1;
        }
        // At most one byte out per byte in, plus a CR held back from the previous read;
        // a byte that does not fit waits in `queued`.
        let room = out.len().saturating_sub(1 + w).max(1);
        while w == 0 && !self.done {
            self.buf.resize(room, 0);
            let n = self.inner.read(&mut self.buf[..room])?;
            if n == 0 {
                self.done = true;
                if std::mem::take(&mut self.pending_cr) {
                    out[w] = b'\n';
                    self.step(b'\n');
                    w += 1;
                }
                if self.state == Scan::Quoted {
                    self.unclosed
                        .store(self.opened_at, std::sync::atomic::Ordering::Relaxed);
                }
                break;
            }
            for i in 0..n {
                let b = self.buf[i];
                if std::mem::take(&mut self.pending_cr) && b != b'\n' {
                    // A lone CR: one line break.
                    out[w] = b'\n';
                    self.step(b'\n');
                    w += 1;
                }
                if b == b'\r' {
                    self.pending_cr = true;
                    continue;
                }
                self.step(b);
                if w < out.len() {
                    out[w] = b;
                    w += 1;
                } else {
                    self.queued = Some(b);
                }
            }
        }
        Ok(w)
    }
}

enum Inner {
    Csv {
        reader: csv::Reader<Box<dyn Read + Send>>,
        record: csv::ByteRecord,
        encoding: TextEncoding,
        /// Line breaks inside quoted cells so far: a spreadsheet shows such a cell in one row.
        embedded_newlines: u64,
        /// The line where a never-closed quote was opened, once the input is exhausted.
        unclosed: std::sync::Arc<std::sync::atomic::AtomicU64>,
    },
    Xlsx {
        rows: std::vec::IntoIter<(u64, Vec<String>)>,
    },
}

/// The rows of a file, header included, each with its spreadsheet row number (1-based).
pub struct Table {
    inner: Inner,
    /// The first row's cells, to name columns in errors.
    titles: Option<Vec<String>>,
}

impl Table {
    /// A CSV stream in the given encoding (a leading BOM is ignored).
    pub fn csv(reader: Box<dyn Read + Send>, encoding: TextEncoding) -> Self {
        let unclosed = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let lines = CsvLines {
            inner: reader.chain(&b"\n"[..]),
            buf: Vec::new(),
            pending_cr: false,
            queued: None,
            line: 1,
            state: Scan::FieldStart,
            opened_at: 0,
            unclosed: unclosed.clone(),
            done: false,
        };
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(Box::new(lines) as Box<dyn Read + Send>);
        Table {
            inner: Inner::Csv {
                reader,
                record: csv::ByteRecord::new(),
                encoding,
                embedded_newlines: 0,
                unclosed,
            },
            titles: None,
        }
    }

    /// The first sheet of an XLSX workbook. Checked against [`xlsx_limits`] before it is
    /// read; a workbook that makes the reader fail in any way (even a panic on a malformed
    /// cell reference) is a row error, never a crash.
    pub fn xlsx<RS: Read + Seek>(rs: RS) -> Result<Self, SourceError> {
        let rows = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_xlsx_rows(rs)))
            .unwrap_or_else(|_| {
                Err(SourceError::row(
                    1,
                    "not a readable XLSX workbook: it holds a malformed cell reference or structure",
                ))
            })?;
        Ok(Table {
            inner: Inner::Xlsx {
                rows: rows.into_iter(),
            },
            titles: None,
        })
    }

    fn column_name(&self, index: usize) -> String {
        self.titles
            .as_ref()
            .and_then(|t| t.get(index))
            .filter(|t| !t.is_empty())
            .cloned()
            .unwrap_or_else(|| column_letters(index as u32))
    }

    /// Every row: the header and the numbered data rows; `None` when the file is empty.
    #[allow(clippy::type_complexity)]
    pub fn read_all(
        &mut self,
    ) -> Result<Option<(Vec<String>, Vec<(u64, Vec<String>)>)>, SourceError> {
        let mut cells = Vec::new();
        let mut header = None;
        let mut rows = Vec::new();
        while let Some(row) = self.next_row(&mut cells)? {
            if header.is_none() {
                header = Some(cells.clone());
            } else {
                rows.push((row, cells.clone()));
            }
        }
        Ok(header.map(|h| (h, rows)))
    }

    /// Reads the next non-blank row into `cells` (trimmed); returns its row number.
    pub fn next_row(&mut self, cells: &mut Vec<String>) -> Result<Option<u64>, SourceError> {
        loop {
            cells.clear();
            let row = match &mut self.inner {
                Inner::Csv {
                    reader,
                    record,
                    encoding,
                    embedded_newlines,
                    unclosed,
                } => {
                    let more = reader.read_byte_record(record).map_err(|e| {
                        SourceError::row(
                            e.position()
                                .map_or(0, |p| p.line().saturating_sub(*embedded_newlines)),
                            format!("malformed CSV: {e}"),
                        )
                    })?;
                    if !more {
                        return Ok(None);
                    }
                    // The record's own start position may point at blank lines csv
                    // skipped; its end is exact, as every record ends with a line break
                    // (one is appended to the input).
                    let newlines_here =
                        record.as_slice().iter().filter(|&&b| b == b'\n').count() as u64;
                    *embedded_newlines += newlines_here;
                    let end_line = reader.position().line();
                    let row = end_line.saturating_sub(1 + *embedded_newlines);
                    let opened = unclosed.load(std::sync::atomic::Ordering::Relaxed);
                    // The input ended inside quotes: the last record holds everything from
                    // the quote on, including the line break appended to the input.
                    if opened != 0 && record.as_slice().ends_with(b"\n") {
                        let before = *embedded_newlines - newlines_here;
                        return Err(SourceError::row(
                            opened.saturating_sub(before),
                            "a quote (\") opened in this row is never closed: everything after it, to the end of the file, would be one cell; close the quote or remove it",
                        ));
                    }
                    let mut bad = None;
                    for (i, field) in record.iter().enumerate() {
                        match decode(field, *encoding) {
                            Ok(text) => cells.push(text),
                            Err(reason) => {
                                bad = Some((i, reason));
                                break;
                            }
                        }
                    }
                    if let Some((i, reason)) = bad {
                        return Err(SourceError {
                            row,
                            column: self.column_name(i),
                            reason,
                        });
                    }
                    row
                }
                Inner::Xlsx { rows } => match rows.next() {
                    None => return Ok(None),
                    Some((row, those)) => {
                        cells.extend(those);
                        row
                    }
                },
            };
            if let Some(first) = cells.first_mut()
                && let Some(rest) = first.strip_prefix('\u{feff}')
            {
                *first = rest.trim().to_string();
            }
            // An export writes `'=…` for a cell that could run as a formula: read it back.
            for c in cells.iter_mut() {
                let plain = crate::domain::spreadsheet::imported_cell(c);
                if plain.len() != c.len() {
                    *c = plain.to_string();
                }
            }
            if cells.iter().any(|c| !c.is_empty()) {
                if self.titles.is_none() {
                    self.titles = Some(cells.clone());
                }
                return Ok(Some(row));
            }
        }
    }
}

/// A cell's text; bytes that are not text in the file's encoding are an error naming the
/// first of them (never replaced by U+FFFD).
fn decode(field: &[u8], encoding: TextEncoding) -> Result<String, String> {
    match encoding {
        TextEncoding::Utf8 => std::str::from_utf8(field)
            .map(|s| s.trim().to_string())
            .map_err(|e| {
                let at = e.valid_up_to();
                format!(
                    "byte 0x{:02X} at position {} of the cell is not valid UTF-8 (the rest of the file is UTF-8); save the file again as UTF-8",
                    field[at],
                    at + 1
                )
            }),
        TextEncoding::Gb18030 => {
            let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(field);
            if had_errors {
                let at = text.find('\u{fffd}').unwrap_or(0);
                let before = text[..at].chars().count();
                return Err(format!(
                    "the cell holds bytes that are not valid GB18030 after its first {before} character(s); save the file again as UTF-8 or GB18030"
                ));
            }
            Ok(text.trim().to_string())
        }
    }
}

/// A cell as the text a user typed: whole numbers without a decimal point (codes such as
/// 150602 are often stored as numbers).
fn cell_text(cell: Option<&calamine::Data>) -> String {
    use calamine::Data;
    match cell {
        None | Some(Data::Empty) => String::new(),
        Some(Data::String(s)) => s.trim().to_string(),
        Some(Data::Int(i)) => i.to_string(),
        Some(Data::Float(f)) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Some(Data::Float(f)) => f.to_string(),
        Some(Data::Bool(b)) => b.to_string(),
        Some(other) => other.to_string().trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(t: &mut Table) -> Vec<(u64, Vec<String>)> {
        let mut out = Vec::new();
        let mut cells = Vec::new();
        while let Some(r) = t.next_row(&mut cells).unwrap() {
            out.push((r, cells.clone()));
        }
        out
    }

    #[test]
    fn row_numbers_follow_the_spreadsheet() {
        let text = "\u{feff}a,b\n1,\"two\nlines\"\n\n3, x \n";
        let mut t = Table::csv(
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
            TextEncoding::Utf8,
        );
        let r = rows(&mut t);
        assert_eq!(r[0], (1, vec!["a".to_string(), "b".to_string()]));
        assert_eq!(r[1].0, 2);
        assert_eq!(r[2], (4, vec!["3".to_string(), "x".to_string()]));
        // The last line without a line break, after blank lines.
        let mut t = Table::csv(
            Box::new(std::io::Cursor::new(b"a\n\n\nb".to_vec())),
            TextEncoding::Utf8,
        );
        assert_eq!(rows(&mut t)[1], (4, vec!["b".to_string()]));
    }

    #[test]
    fn detects_gb18030() {
        let (gb, _, _) = encoding_rs::GB18030.encode("机构名称,地址\n");
        assert_eq!(detect_encoding(&gb), TextEncoding::Gb18030);
        assert_eq!(detect_encoding("机构名称".as_bytes()), TextEncoding::Utf8);
        let mut seen = 0;
        let enc = detect_encoding_streaming(std::io::Cursor::new(gb.to_vec()), |c| seen += c.len())
            .unwrap();
        assert_eq!((enc, seen), (TextEncoding::Gb18030, gb.len()));
        let mut t = Table::csv(
            Box::new(std::io::Cursor::new(gb.to_vec())),
            TextEncoding::Gb18030,
        );
        assert_eq!(rows(&mut t)[0].1, vec!["机构名称", "地址"]);
    }

    #[test]
    fn formats() {
        assert_eq!(
            format_of(Some("text/csv; charset=gbk"), b""),
            Ok(Format::Csv)
        );
        assert_eq!(format_of(None, b"PK\x03\x04..."), Ok(Format::Xlsx));
        assert!(format_of(Some("application/json"), b"").is_err());
    }

    fn csv_rows(bytes: &[u8]) -> Result<Vec<(u64, Vec<String>)>, SourceError> {
        let enc = detect_encoding(bytes);
        let mut t = Table::csv(Box::new(std::io::Cursor::new(bytes.to_vec())), enc);
        let mut out = Vec::new();
        let mut cells = Vec::new();
        while let Some(r) = t.next_row(&mut cells)? {
            out.push((r, cells.clone()));
        }
        Ok(out)
    }

    #[test]
    fn crlf_and_cr_only_files_number_rows_like_lf_files() {
        // 40 data rows as Excel writes them (CRLF), one with a quoted line break.
        for eol in ["\n", "\r\n", "\r"] {
            let mut text = format!("name,code{eol}");
            for i in 1..=40 {
                if i == 5 {
                    text += &format!("\"two{eol}lines\",{i}{eol}");
                } else {
                    text += &format!("n{i},{i}{eol}");
                }
            }
            let r = csv_rows(text.as_bytes()).unwrap();
            assert_eq!(r.len(), 41, "{eol:?}");
            // The 37th data row is spreadsheet row 38.
            assert_eq!(
                r[37],
                (38, vec!["n37".to_string(), "37".to_string()]),
                "{eol:?}"
            );
            assert_eq!(r[40].0, 41, "{eol:?}");
        }
    }

    #[test]
    fn an_unclosed_quote_is_one_error_naming_the_quote() {
        let e = csv_rows(b"name,code\na,1\n\"b,2\nc,3\nd,4\n").unwrap_err();
        assert_eq!(e.row, 3, "{e:?}");
        assert!(e.reason.contains("quote"), "{}", e.reason);
        // A quote inside an unquoted cell is text, and a closed quote is fine.
        let r = csv_rows(b"name,code\nab\"c,1\n\"x,\"\"y\"\"\",2\n").unwrap();
        assert_eq!(r[1].1[0], "ab\"c");
        assert_eq!(r[2].1[0], "x,\"y\"");
    }

    #[test]
    fn one_stray_byte_in_a_utf8_file_is_a_cell_error_not_gb18030() {
        let mut bytes = "名称,地址\n北京协和医院,东城区\n上海瑞金医院,黄浦区\n"
            .as_bytes()
            .to_vec();
        // A stray 0xFF in the second data row's address.
        let at = bytes.len() - "区\n".len();
        bytes.insert(at, 0xFF);
        assert_eq!(detect_encoding(&bytes), TextEncoding::Utf8);
        let mut seen = 0;
        let streamed =
            detect_encoding_streaming(std::io::Cursor::new(bytes.clone()), |c| seen += c.len())
                .unwrap();
        assert_eq!(streamed, TextEncoding::Utf8);
        let e = csv_rows(&bytes).unwrap_err();
        assert_eq!((e.row, e.column.as_str()), (3, "地址"));
        assert!(e.reason.contains("0xFF"), "{}", e.reason);
    }

    #[test]
    fn malformed_gb18030_is_a_cell_error_not_replacement_characters() {
        let (gb, _, _) = encoding_rs::GB18030.encode("名称,地址\n北京协和医院,东城区\n");
        let mut bytes = gb.to_vec();
        // 0x81 followed by a byte that cannot follow it (0x7F) is not GB18030.
        let at = bytes.len() - 1;
        bytes.splice(at..at, [0x81, 0x7F]);
        assert_eq!(detect_encoding(&bytes), TextEncoding::Gb18030);
        let e = csv_rows(&bytes).unwrap_err();
        assert_eq!((e.row, e.column.as_str()), (2, "地址"));
        assert!(e.reason.contains("GB18030"), "{}", e.reason);
    }

    /// A minimal workbook whose first sheet's XML is `sheet_data` (inside `<sheetData>`).
    fn workbook(sheet_data: &str, shared_strings: Option<&str>) -> Vec<u8> {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let mut part = |name: &str, text: &str| {
            zip.start_file(name, opts).unwrap();
            zip.write_all(text.as_bytes()).unwrap();
        };
        part(
            "[Content_Types].xml",
            r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        );
        part(
            "_rels/.rels",
            r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        );
        part(
            "xl/workbook.xml",
            r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        );
        part(
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        );
        if let Some(sst) = shared_strings {
            part("xl/sharedStrings.xml", sst);
        }
        part(
            "xl/worksheets/sheet1.xml",
            &format!(
                r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{sheet_data}</sheetData></worksheet>"#
            ),
        );
        zip.finish().unwrap().into_inner()
    }

    fn xlsx_rows(bytes: Vec<u8>) -> Result<Vec<(u64, Vec<String>)>, SourceError> {
        let mut t = Table::xlsx(std::io::Cursor::new(bytes))?;
        let mut out = Vec::new();
        let mut cells = Vec::new();
        while let Some(r) = t.next_row(&mut cells)? {
            out.push((r, cells.clone()));
        }
        Ok(out)
    }

    #[test]
    fn a_small_workbook_reads_sparsely() {
        let book = workbook(
            r#"<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c><c r="B1" t="inlineStr"><is><t>code</t></is></c></row><row r="3"><c r="B3"><v>150602</v></c></row>"#,
            None,
        );
        let r = xlsx_rows(book).unwrap();
        assert_eq!(r[0], (1, vec!["name".to_string(), "code".to_string()]));
        assert_eq!(r[1], (3, vec![String::new(), "150602".to_string()]));
    }

    #[test]
    fn a_far_away_cell_is_refused_without_allocating_the_range() {
        // A1 and XFD1048576: calamine's dense range would ask for hundreds of GB.
        let book = workbook(
            r#"<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row><row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>"#,
            None,
        );
        assert!(book.len() < 4096);
        let e = xlsx_rows(book).unwrap_err();
        assert_eq!((e.row, e.column.as_str()), (1_048_576, "XFD"));
    }

    #[test]
    fn an_absurd_cell_reference_is_an_error_not_a_panic() {
        let book = workbook(
            r#"<row r="1"><c r="ZZZZZZ99999999999" t="inlineStr"><is><t>x</t></is></c></row>"#,
            None,
        );
        assert!(xlsx_rows(book).is_err());
    }

    #[test]
    fn a_part_that_decompresses_past_its_limit_is_refused_before_reading() {
        // 65 MiB of one repeated shared string compresses to a few dozen KB.
        let big = "x".repeat(1 << 20);
        let mut sst = String::from(
            r#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#,
        );
        for _ in 0..65 {
            sst += &format!("<si><t>{big}</t></si>");
        }
        sst += "</sst>";
        let book = workbook(
            r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#,
            Some(&sst),
        );
        drop(sst);
        assert!(book.len() < 1 << 20, "{}", book.len());
        let e = xlsx_rows(book).unwrap_err();
        assert!(e.reason.contains("sharedStrings"), "{}", e.reason);
    }

    #[test]
    fn column_letters_as_a_spreadsheet_names_them() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(16383), "XFD");
    }
}
