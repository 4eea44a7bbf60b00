//! The architecture, checked on the source text (issue 10, "Done when"): HTTP handlers
//! are short adapters, SQL and the pool stay in `store/`, `api/` resource modules do not
//! import each other, and the portal does not depend on `api`. Each failure names the file
//! and line to fix.

use std::fs;
use std::path::{Path, PathBuf};

/// The longest an `async fn` in `src/api/*.rs` may be, signature to closing brace.
const MAX_HANDLER_LINES: usize = 25;

/// `async fn`s in `src/api/` allowed to be longer, with the reason. Prefer none: move the
/// rule into the library instead. An entry that is no longer needed fails the test too.
const LONG_HANDLER_EXCEPTIONS: &[(&str, &str, &str)] = &[];

/// The modules of `api/` that are not resources: shared extraction, problem documents,
/// views, downloads, filters, registry helpers, document fix-ups and the check form.
const SHARED_API_MODULES: &[&str] = &[
    "mod",
    "extract",
    "problems",
    "views",
    "download",
    "filters",
    "registry",
    "wire",
    "query_rules",
    "form",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The file's lines up to its unit tests (`#[cfg(test)]` at the start of a line): tests
/// may use SQL and any module.
fn code_lines(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .take_while(|l| l.trim_end() != "#[cfg(test)]")
        .map(str::to_string)
        .collect()
}

fn shown(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn api_modules() -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    rust_files(&root().join("src/api"), &mut files);
    files
        .into_iter()
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().to_string();
            (name, p)
        })
        .collect()
}

/// Every `async fn` of a file: its name, first line (1-based) and length in lines, from
/// the signature to the closing brace at the signature's indentation (rustfmt's layout).
fn async_fns(lines: &[String]) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let Some(at) = trimmed.find("async fn ") else {
            continue;
        };
        let before = &trimmed[..at];
        if !(before.is_empty() || before.starts_with("pub")) || before.contains("//") {
            continue;
        }
        let name: String = trimmed[at + "async fn ".len()..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let indent = &line[..line.len() - trimmed.len()];
        let close = format!("{indent}}}");
        let end = lines[i..]
            .iter()
            .position(|l| *l == close)
            .map_or(lines.len(), |n| i + n);
        out.push((name, i + 1, end - i + 1));
    }
    out
}

#[test]
fn every_api_async_fn_is_a_short_adapter() {
    let mut failures = Vec::new();
    let mut used = vec![false; LONG_HANDLER_EXCEPTIONS.len()];
    for (module, path) in api_modules() {
        for (name, line, len) in async_fns(&code_lines(&path)) {
            if len <= MAX_HANDLER_LINES {
                continue;
            }
            let exception = LONG_HANDLER_EXCEPTIONS
                .iter()
                .position(|(m, f, _)| *m == module && *f == name);
            match exception {
                Some(k) => used[k] = true,
                None => failures.push(format!(
                    "{}:{line}: async fn {name} is {len} lines (at most {MAX_HANDLER_LINES}): \
                     move its rules into the library and keep extract → call → map",
                    shown(&path)
                )),
            }
        }
    }
    for (k, (m, f, _)) in LONG_HANDLER_EXCEPTIONS.iter().enumerate() {
        if !used[k] {
            failures.push(format!(
                "the exception for src/api/{m}.rs `{f}` is no longer needed: remove it"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_length_rule_measures_what_it_says() {
    let lines: Vec<String> = "async fn a() {\n    x();\n}\n\npub(super) async fn b(\n    y: u8,\n) -> u8 {\n    y\n}\n    // async fn c() is a comment\n"
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        async_fns(&lines),
        vec![("a".to_string(), 1, 3), ("b".to_string(), 5, 5)]
    );
}

/// Whether a line of code (outside `src/store/`) reaches the database directly.
fn touches_database(line: &str) -> Option<&'static str> {
    let code = line.split("//").next().unwrap_or("");
    [
        ("sqlx::query", "sqlx::query"),
        (".pool()", ".pool()"),
        ("\"SELECT ", "SQL (SELECT)"),
        ("\"INSERT ", "SQL (INSERT)"),
        ("\"UPDATE ", "SQL (UPDATE)"),
        ("\"DELETE ", "SQL (DELETE)"),
        ("\"WITH ", "SQL (WITH)"),
    ]
    .into_iter()
    .find(|(needle, _)| code.contains(needle))
    .map(|(_, what)| what)
}

#[test]
fn no_sql_and_no_pool_outside_the_store() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let store = root().join("src/store");
    let mut failures = Vec::new();
    for path in files.iter().filter(|p| !p.starts_with(&store)) {
        for (i, line) in code_lines(path).iter().enumerate() {
            if let Some(what) = touches_database(line) {
                failures.push(format!(
                    "{}:{}: {what} outside src/store/: add a store method",
                    shown(path),
                    i + 1
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_database_check_sees_sql() {
    assert!(touches_database(r#"    sqlx::query("SELECT 1")"#).is_some());
    assert!(touches_database(r#"    let q = "SELECT code FROM departments";"#).is_some());
    assert!(touches_database("    state.store.pool().acquire()").is_some());
    assert!(touches_database("    // SELECT in a comment, .pool() too").is_none());
    assert!(touches_database("    let selected = select(&rows);").is_none());
}

/// The modules of `api` a line names through `super::` or `crate::api::` (the first path
/// segment, also inside `{…}` groups that start on the line).
fn api_modules_named(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    let mut out = Vec::new();
    for prefix in ["super::", "crate::api::"] {
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            rest = &rest[at + prefix.len()..];
            let segment = |s: &str| -> String {
                s.trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect()
            };
            if let Some(group) = rest.strip_prefix('{') {
                let inner = group.split('}').next().unwrap_or("");
                out.extend(inner.split(',').map(segment).filter(|s| !s.is_empty()));
            } else {
                out.push(segment(rest));
            }
        }
    }
    out
}

/// A `use super::{…}` group may span lines; joins each statement onto one line, keeping
/// the first line's number.
fn statements(lines: &[String]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (i, line) in lines.iter().enumerate() {
        if let Some((start, mut text)) = open.take() {
            text.push_str(line.trim());
            if line.contains(';') {
                out.push((start, text));
            } else {
                open = Some((start, text));
            }
            continue;
        }
        let t = line.trim_start();
        if (t.starts_with("use ") || t.starts_with("pub use ")) && !t.contains(';') {
            open = Some((i + 1, line.clone()));
        } else {
            out.push((i + 1, line.clone()));
        }
    }
    out
}

#[test]
fn api_resource_modules_do_not_import_each_other() {
    let modules = api_modules();
    let names: Vec<&str> = modules.iter().map(|(n, _)| n.as_str()).collect();
    let mut failures = Vec::new();
    for (module, path) in &modules {
        if module == "mod" {
            continue;
        }
        for (line, text) in statements(&code_lines(path)) {
            for other in api_modules_named(&text) {
                if other != *module
                    && names.contains(&other.as_str())
                    && !SHARED_API_MODULES.contains(&other.as_str())
                {
                    failures.push(format!(
                        "{}:{line}: the resource module `{module}` uses the resource module \
                         `{other}`: move the shared piece to a shared module ({}) or the library",
                        shown(path),
                        SHARED_API_MODULES.join(", ")
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_import_check_reads_groups() {
    let lines: Vec<String> = "use super::AppState;\nuse super::{\n    bulk::read_upload,\n    extract::ApiPath,\n};\nlet v = super::evidence::EvidenceView::from(r);\n"
        .lines()
        .map(str::to_string)
        .collect();
    let named: Vec<Vec<String>> = statements(&lines)
        .iter()
        .map(|(_, t)| api_modules_named(t))
        .collect();
    assert_eq!(
        named,
        vec![
            vec!["AppState".to_string()],
            vec!["bulk".to_string(), "extract".to_string()],
            vec!["evidence".to_string()],
        ]
    );
}

#[test]
fn the_portal_does_not_depend_on_the_api() {
    let mut failures = Vec::new();
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    for path in files.iter().filter(|p| {
        p.parent() == Some(&root().join("src"))
            && p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("portal"))
    }) {
        for (line, text) in statements(&code_lines(path)) {
            let code = text.split("//").next().unwrap_or("");
            if code.contains("crate::api") || code.contains("suiji::api") {
                failures.push(format!(
                    "{}:{line}: the portal uses crate::api: depend on the read model \
                     (crate::publication) instead",
                    shown(path)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
