//! `suiji verify BUNDLE`: check a published draw bundle offline.
//!
//! Exit 0 and a summary when the bundle is consistent, 1 with the first mismatch when it is
//! not, 2 when the input cannot be read or is not a suiji-draw/1 bundle. No database, no
//! network.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use crate::draw::{Bundle, verify};

/// Read the bundle at `path` (`-` for standard input), verify it and report on stdout
/// (consistent) or stderr (mismatch, unreadable input).
pub fn run(path: &Path) -> ExitCode {
    let name = path.display().to_string();
    let bytes = if path == Path::new("-") {
        let mut buf = Vec::new();
        match std::io::stdin().lock().read_to_end(&mut buf) {
            Ok(_) => buf,
            Err(e) => {
                eprintln!("error: cannot read standard input: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: cannot read {name}: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let bundle: Bundle = match serde_json::from_slice(&bytes) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {name} is not a suiji-draw/1 bundle: {e}");
            return ExitCode::from(2);
        }
    };
    drop(bytes);
    match verify(&bundle) {
        Ok(v) => {
            println!("consistent: {name}");
            println!("pool hash:    {}", v.pool_hash);
            println!("seed:         {}", v.seed);
            println!("result hash:  {}", v.result_hash);
            println!("selections:   {}", v.selections);
            println!("replacements: {}", v.replacements);
            ExitCode::SUCCESS
        }
        Err(m) => {
            eprintln!("MISMATCH in {name}: {m}");
            ExitCode::from(1)
        }
    }
}
