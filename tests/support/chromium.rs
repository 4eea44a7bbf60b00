//! Headless Chromium for the browser tests (`tests/browser_verify.rs`, `tests/api/portal.rs`):
//! runs it on a URL and returns the DOM after rendering. Included with `#[path]` by each test
//! binary that needs it.
//!
//! A missing Chromium skips the check with a note, unless `SUIJI_REQUIRE_CHROMIUM=1`, which
//! makes that a failure.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Whether Chromium is installed; panics when it is not and `SUIJI_REQUIRE_CHROMIUM=1`.
pub fn available(check: &str) -> bool {
    if Path::new(CHROMIUM).exists() {
        return true;
    }
    if std::env::var("SUIJI_REQUIRE_CHROMIUM").as_deref() == Ok("1") {
        panic!("{CHROMIUM} is missing and SUIJI_REQUIRE_CHROMIUM=1 (apt-get install -y chromium)");
    }
    eprintln!("note: {CHROMIUM} is not installed; skipping {check}");
    false
}

/// The DOM of `url` after rendering, with extra Chromium flags (e.g. a virtual-time budget
/// so a page's module, fetches and WebCrypto finish before the dump). Panics when Chromium
/// fails, prints nothing, or runs past `timeout`.
pub fn dump_dom(url: &str, extra: &[&str], timeout: Duration) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("dom.html");
    let err_path = dir.path().join("stderr.txt");
    let profile = dir.path().join("profile");
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg("--dump-dom")
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish within {} s on {url}; stderr:\n{}",
                timeout.as_secs(),
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let dom = std::fs::read_to_string(&out_path).unwrap();
    assert!(
        status.success() && !dom.is_empty(),
        "chromium failed ({status}) on {url}; stderr:\n{}",
        std::fs::read_to_string(&err_path).unwrap_or_default()
    );
    dom
}

/// Prints `url` to PDF at the page's own `@page` size (A4 for the check form) and returns
/// the PDF's bytes. Panics when Chromium fails or runs past `timeout`.
#[allow(dead_code)]
pub fn print_to_pdf(url: &str, timeout: Duration) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("page.pdf");
    let profile = dir.path().join("profile");
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not print {url} within {} s",
                timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "chromium failed ({status}) printing {url}"
    );
    std::fs::read(&pdf).unwrap()
}

/// The number of pages of a PDF Chromium printed (its page objects).
#[allow(dead_code)]
pub fn pdf_pages(pdf: &[u8]) -> usize {
    let needle = b"/Type /Page";
    pdf.windows(needle.len() + 1)
        .filter(|w| &w[..needle.len()] == needle && w[needle.len()] != b's')
        .count()
}
