//! Bulk import and export of the registries (一单两库) as CSV (UTF-8 or GB18030) or XLSX.
//!
//! - [`source`] reads a file: format and encoding detection, rows numbered as a spreadsheet
//!   shows them;
//! - [`schema`] maps header titles (English field names or Chinese titles) to fields and a
//!   row to a validated document, with the same types and checks as the JSON API;
//! - [`import`] runs an import all or nothing in one transaction, in batches;
//! - [`export`] writes CSV and XLSX.
//!
//! The SQL is in `store::bulk`; the HTTP handlers in `api::bulk`; the CLI in `main.rs`.

pub mod export;
pub mod import;
pub mod schema;
pub mod source;

pub use crate::error::RowError;
pub use import::{
    ImportError, ImportReport, Importer, Mode, Options, import, import_upload, open_upload,
};
