//! Canonical JSON (suiji-draw/1 §1).
//!
//! Object keys sorted bytewise, no whitespace, UTF-8 written as-is, only the mandatory
//! escapes (`\"` `\\` `\b` `\f` `\n` `\r` `\t`, other control characters as lowercase
//! `\u00xx`), integers only.
//!
//! Two ways in:
//! * [`canonical_json`] for any `serde_json::Value`. It sorts object keys itself, so the
//!   output does not depend on whether `serde_json/preserve_order` is switched on in the
//!   build (feature unification can switch it on behind our back).
//! * [`Canon`], a small streaming writer used by the typed documents (snapshot, seed
//!   document, result): they write their fields in an explicit, sorted order straight into a
//!   [`Sink`] (a byte vector or a SHA-256 hasher), without building a `Value`.

use serde_json::Value;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// A value that cannot be written as canonical JSON.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CanonicalError {
    /// suiji-draw/1 has no floating-point numbers.
    #[error("floating-point number {0} is not allowed in canonical JSON")]
    Float(String),
}

/// Where canonical bytes go.
pub trait Sink {
    /// Append bytes.
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// A SHA-256 hasher fed through a 64 KiB buffer, so many tiny writes stay cheap.
pub struct HashSink {
    hasher: Sha256,
    buf: Vec<u8>,
}

const HASH_BUF: usize = 64 * 1024;

impl Default for HashSink {
    fn default() -> Self {
        Self::new()
    }
}

impl HashSink {
    /// An empty hasher.
    pub fn new() -> Self {
        HashSink {
            hasher: Sha256::new(),
            buf: Vec::with_capacity(HASH_BUF),
        }
    }

    /// The SHA-256 of everything written.
    pub fn finish(mut self) -> [u8; 32] {
        self.hasher.update(&self.buf);
        self.hasher.finalize().into()
    }
}

impl Sink for HashSink {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        if self.buf.len() + bytes.len() > HASH_BUF {
            self.hasher.update(&self.buf);
            self.buf.clear();
            if bytes.len() > HASH_BUF {
                self.hasher.update(bytes);
                return;
            }
        }
        self.buf.extend_from_slice(bytes);
    }
}

/// Streaming canonical-JSON writer over a [`Sink`].
///
/// The caller is responsible for the key order: every `key` call of one object must come in
/// bytewise ascending order. Commas are inserted automatically.
pub struct Canon<'a, S: Sink> {
    out: &'a mut S,
    /// Whether the next element of the current container needs a leading comma.
    need_comma: bool,
}

impl<'a, S: Sink> Canon<'a, S> {
    /// A writer that appends to `out`.
    pub fn new(out: &'a mut S) -> Self {
        Canon {
            out,
            need_comma: false,
        }
    }

    #[inline]
    fn sep(&mut self) {
        if self.need_comma {
            self.out.put(b",");
        }
    }

    /// `{`
    #[inline]
    pub fn begin_object(&mut self) {
        self.sep();
        self.out.put(b"{");
        self.need_comma = false;
    }

    /// `}`
    #[inline]
    pub fn end_object(&mut self) {
        self.out.put(b"}");
        self.need_comma = true;
    }

    /// `[`
    #[inline]
    pub fn begin_array(&mut self) {
        self.sep();
        self.out.put(b"[");
        self.need_comma = false;
    }

    /// `]`
    #[inline]
    pub fn end_array(&mut self) {
        self.out.put(b"]");
        self.need_comma = true;
    }

    /// An object key (must be ASCII without characters needing escapes) and its colon.
    #[inline]
    pub fn key(&mut self, k: &str) {
        self.sep();
        self.out.put(b"\"");
        self.out.put(k.as_bytes());
        self.out.put(b"\":");
        self.need_comma = false;
    }

    /// A string value.
    #[inline]
    pub fn str(&mut self, s: &str) {
        self.sep();
        write_string(self.out, s);
        self.need_comma = true;
    }

    /// A string or `null`.
    #[inline]
    pub fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.str(s),
            None => self.null(),
        }
    }

    /// An unsigned integer.
    #[inline]
    pub fn u64(&mut self, v: u64) {
        self.sep();
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        let mut v = v;
        loop {
            i -= 1;
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.out.put(&buf[i..]);
        self.need_comma = true;
    }

    /// An integer or `null`.
    #[inline]
    pub fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            Some(v) => self.u64(v),
            None => self.null(),
        }
    }

    /// `true` / `false`.
    #[inline]
    pub fn bool(&mut self, b: bool) {
        self.sep();
        self.out.put(if b { b"true" } else { b"false" });
        self.need_comma = true;
    }

    /// `null`.
    #[inline]
    pub fn null(&mut self) {
        self.sep();
        self.out.put(b"null");
        self.need_comma = true;
    }

    /// An array of strings.
    pub fn str_array<'s>(&mut self, items: impl IntoIterator<Item = &'s str>) {
        self.begin_array();
        for s in items {
            self.str(s);
        }
        self.end_array();
    }

    /// Raw bytes that are already canonical JSON of one value.
    pub fn raw_value(&mut self, bytes: &[u8]) {
        self.sep();
        self.out.put(bytes);
        self.need_comma = true;
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Write `s` as a JSON string with only the mandatory escapes.
#[inline]
pub fn write_string<S: Sink + ?Sized>(out: &mut S, s: &str) {
    out.put(b"\"");
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        if start < i {
            out.put(&bytes[start..i]);
        }
        match b {
            b'"' => out.put(b"\\\""),
            b'\\' => out.put(b"\\\\"),
            0x08 => out.put(b"\\b"),
            0x0c => out.put(b"\\f"),
            b'\n' => out.put(b"\\n"),
            b'\r' => out.put(b"\\r"),
            b'\t' => out.put(b"\\t"),
            _ => out.put(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xf) as usize],
            ]),
        }
        start = i + 1;
    }
    if start < bytes.len() {
        out.put(&bytes[start..]);
    }
    out.put(b"\"");
}

/// Canonical JSON of any `serde_json::Value`, with object keys sorted bytewise whatever
/// the map type's own order is. Fails on floating-point numbers.
pub fn canonical_json(v: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::new();
    write_value(&mut out, v)?;
    Ok(out)
}

/// Write the canonical JSON of `v` into `out`.
pub fn write_value<S: Sink + ?Sized>(out: &mut S, v: &Value) -> Result<(), CanonicalError> {
    match v {
        Value::Null => out.put(b"null"),
        Value::Bool(b) => out.put(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            if n.is_i64() || n.is_u64() {
                out.put(n.to_string().as_bytes());
            } else {
                return Err(CanonicalError::Float(n.to_string()));
            }
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.put(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.put(b",");
                }
                write_value(out, item)?;
            }
            out.put(b"]");
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.put(b"{");
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.put(b",");
                }
                write_string(out, k);
                out.put(b":");
                write_value(out, item)?;
            }
            out.put(b"}");
        }
    }
    Ok(())
}

/// SHA-256 of the canonical JSON of `v`, as lowercase hex.
pub fn hash_value(v: &Value) -> Result<String, CanonicalError> {
    let mut sink = HashSink::new();
    write_value(&mut sink, v)?;
    Ok(hex::encode(sink.finish()))
}

/// Types that write themselves as canonical JSON with an explicit key order.
pub trait CanonicalJson {
    /// Write the canonical JSON of `self`.
    fn write_canonical<S: Sink>(&self, w: &mut Canon<'_, S>);

    /// The canonical bytes.
    fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_canonical(&mut Canon::new(&mut out));
        out
    }

    /// SHA-256 of the canonical bytes, streamed (never materialised).
    fn canonical_sha256(&self) -> [u8; 32] {
        let mut sink = HashSink::new();
        self.write_canonical(&mut Canon::new(&mut sink));
        sink.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_and_order() {
        let v = json!({"b": "x\"\\\u{8}\u{c}\n\r\t\u{1}\u{1f}\u{7f}é中", "a": [1, -2, null, true], "B": {}});
        let got = String::from_utf8(canonical_json(&v).unwrap()).unwrap();
        assert_eq!(
            got,
            "{\"B\":{},\"a\":[1,-2,null,true],\"b\":\"x\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\u{7f}é中\"}"
        );
    }

    #[test]
    fn floats_refused() {
        assert!(canonical_json(&json!({"a": 1.5})).is_err());
    }

    #[test]
    fn integers() {
        let mut out = Vec::new();
        let mut c = Canon::new(&mut out);
        c.begin_array();
        c.u64(0);
        c.u64(u64::MAX);
        c.u64(10);
        c.end_array();
        assert_eq!(out, b"[0,18446744073709551615,10]");
    }
}
