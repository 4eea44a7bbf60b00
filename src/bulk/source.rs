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

/// A file that is valid UTF-8 throughout is UTF-8; anything else is read as GB18030.
pub fn detect_encoding(bytes: &[u8]) -> TextEncoding {
    if encoding_rs::Encoding::utf8_valid_up_to(bytes) == bytes.len() {
        TextEncoding::Utf8
    } else {
        TextEncoding::Gb18030
    }
}

/// Reads a stream once to tell its encoding, feeding every chunk to `each` (e.g. a hash),
/// without holding more than a chunk in memory.
pub fn detect_encoding_streaming(
    mut r: impl Read,
    mut each: impl FnMut(&[u8]),
) -> std::io::Result<TextEncoding> {
    let mut buf = vec![0u8; 1 << 20];
    let mut carry = 0usize;
    let mut utf8 = true;
    loop {
        let n = r.read(&mut buf[carry..])?;
        if n == 0 {
            return Ok(if utf8 && carry == 0 {
                TextEncoding::Utf8
            } else {
                TextEncoding::Gb18030
            });
        }
        each(&buf[carry..carry + n]);
        let len = carry + n;
        if !utf8 {
            continue;
        }
        match std::str::from_utf8(&buf[..len]) {
            Ok(_) => carry = 0,
            // Cut in the middle of a character: keep its start for the next chunk.
            Err(e) if e.error_len().is_none() => {
                let valid = e.valid_up_to();
                buf.copy_within(valid..len, 0);
                carry = len - valid;
            }
            Err(_) => {
                utf8 = false;
                carry = 0;
            }
        }
    }
}

/// A problem reading the file itself, at a row.
#[derive(Debug, Clone)]
pub struct SourceError {
    pub row: u64,
    pub reason: String,
}

enum Inner {
    Csv {
        reader: csv::Reader<Box<dyn Read + Send>>,
        record: csv::ByteRecord,
        encoding: TextEncoding,
        /// Line breaks inside quoted cells so far: a spreadsheet shows such a cell in one row.
        embedded_newlines: u64,
    },
    Xlsx {
        range: calamine::Range<calamine::Data>,
        next: usize,
        first_row: u64,
    },
}

/// The rows of a file, header included, each with its spreadsheet row number (1-based).
pub struct Table {
    inner: Inner,
}

impl Table {
    /// A CSV stream in the given encoding (a leading BOM is ignored).
    pub fn csv(reader: Box<dyn Read + Send>, encoding: TextEncoding) -> Self {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(Box::new(reader.chain(&b"\n"[..])) as Box<dyn Read + Send>);
        Table {
            inner: Inner::Csv {
                reader,
                record: csv::ByteRecord::new(),
                encoding,
                embedded_newlines: 0,
            },
        }
    }

    /// The first sheet of an XLSX workbook.
    pub fn xlsx<RS: Read + Seek>(rs: RS) -> Result<Self, SourceError> {
        use calamine::Reader;
        let unreadable = |e: &dyn std::fmt::Display| SourceError {
            row: 1,
            reason: format!("not a readable XLSX workbook: {e}"),
        };
        let mut book: calamine::Xlsx<RS> = calamine::Xlsx::new(rs).map_err(|e| unreadable(&e))?;
        let range = book
            .worksheet_range_at(0)
            .ok_or_else(|| SourceError {
                row: 1,
                reason: "the workbook has no sheet".into(),
            })?
            .map_err(|e| unreadable(&e))?;
        let first_row = range.start().map_or(1, |(r, _)| u64::from(r) + 1);
        Ok(Table {
            inner: Inner::Xlsx {
                range,
                next: 0,
                first_row,
            },
        })
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
                } => {
                    let more = reader.read_byte_record(record).map_err(|e| SourceError {
                        row: e
                            .position()
                            .map_or(0, |p| p.line().saturating_sub(*embedded_newlines)),
                        reason: format!("malformed CSV: {e}"),
                    })?;
                    if !more {
                        return Ok(None);
                    }
                    // The record's own start position may point at blank lines csv
                    // skipped; its end is exact, as every record ends with a line break
                    // (one is appended to the input).
                    *embedded_newlines +=
                        record.as_slice().iter().filter(|&&b| b == b'\n').count() as u64;
                    let row = reader
                        .position()
                        .line()
                        .saturating_sub(1 + *embedded_newlines);
                    for field in record.iter() {
                        cells.push(decode(field, *encoding).ok_or_else(|| SourceError {
                            row,
                            reason: "a cell is not valid UTF-8 (the rest of the file is)".into(),
                        })?);
                    }
                    row
                }
                Inner::Xlsx {
                    range,
                    next,
                    first_row,
                } => {
                    if *next >= range.height() {
                        return Ok(None);
                    }
                    let row = *first_row + *next as u64;
                    for c in 0..range.width() {
                        cells.push(cell_text(range.get((*next, c))));
                    }
                    *next += 1;
                    row
                }
            };
            if let Some(first) = cells.first_mut()
                && let Some(rest) = first.strip_prefix('\u{feff}')
            {
                *first = rest.trim().to_string();
            }
            if cells.iter().any(|c| !c.is_empty()) {
                return Ok(Some(row));
            }
        }
    }
}

fn decode(field: &[u8], encoding: TextEncoding) -> Option<String> {
    match encoding {
        TextEncoding::Utf8 => std::str::from_utf8(field)
            .ok()
            .map(|s| s.trim().to_string()),
        TextEncoding::Gb18030 => {
            let (text, _) = encoding_rs::GB18030.decode_without_bom_handling(field);
            Some(text.trim().to_string())
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
}
