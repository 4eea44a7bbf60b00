//! `suiji verify BUNDLE [--previous EARLIER …]`: check a published draw bundle offline,
//! suiji-draw/1 or /2 (dispatched on `spec`), and say what its fairness rests on.
//!
//! Exit 0 and a summary when the bundle is consistent, 1 with the first mismatch (its step
//! and reason) when it is not, 2 when the input cannot be read or is not a bundle. No
//! database, no network: the /2 beacon signature is checked against the pinned key.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::draw::v2::{AnyBundle, check_exclusions, parse_bundle};

fn read(path: &Path) -> Result<AnyBundle, String> {
    let name = path.display().to_string();
    let bytes = if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        buf
    } else {
        std::fs::read(path).map_err(|e| format!("cannot read {name}: {e}"))?
    };
    parse_bundle(&bytes).map_err(|e| format!("{name}: {e}"))
}

/// Read the bundle at `path` (`-` for standard input) and the earlier bundles, verify, and
/// report on stdout (consistent) or stderr (mismatch, unreadable input).
pub fn run(path: &Path, previous: &[PathBuf]) -> ExitCode {
    run_with_list(path, previous, None)
}

/// The full check of a sample of records (docs/draw-spec.md B.12): the list file and the
/// salt (hex) recompute every stratum's member hashes.
fn check_records(b: &crate::draw::v2::Bundle2, list: &Path, salt: &str) -> Result<String, String> {
    let Some(records) = &b.snapshot.records else {
        return Err("the bundle is not a sample of records: --list does not apply".into());
    };
    let salt = hex::decode(salt.trim()).map_err(|e| format!("--salt is not hex: {e}"))?;
    let columns: Vec<crate::domain::list::ListColumn> = records
        .columns
        .iter()
        .map(|c| {
            serde_json::from_value(serde_json::json!({"name": c.name, "type": c.kind}))
                .map_err(|e| format!("records.columns: {e}"))
        })
        .collect::<Result<_, _>>()?;
    let rows = crate::lists::read_file(list, &records.id_column, &columns)?;
    let strata: Vec<(&str, Vec<&str>)> = b
        .snapshot
        .strata
        .iter()
        .map(|s| {
            (
                s.id.as_str(),
                s.members.iter().map(|m| m.id.as_str()).collect(),
            )
        })
        .collect();
    crate::draw::sample::check_list(records, &strata, &salt, rows)?;
    Ok(format!(
        "{} records of list {} (salt checked), every stratum recomputed",
        records.list_rows, records.list_sha256
    ))
}

/// [`run`], and with `list` = (list file, salt hex) the full check of a sample of records.
pub fn run_with_list(path: &Path, previous: &[PathBuf], list: Option<(&Path, &str)>) -> ExitCode {
    let name = path.display().to_string();
    let bundle = match read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut earlier = Vec::with_capacity(previous.len());
    for p in previous {
        match read(p) {
            Ok(b) => earlier.push(b),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    // Exclusions are checked when earlier bundles are given; without any, they are
    // reported as not checked (the bundle itself can still be consistent).
    let checked = bundle.verify().and_then(|v| match &bundle {
        AnyBundle::V2(b) if !earlier.is_empty() => check_exclusions(b, &earlier).map(|()| v),
        _ => Ok(v),
    });
    let records = match (&checked, &bundle, list) {
        (Ok(_), AnyBundle::V2(b), Some((file, salt))) => match check_records(b, file, salt) {
            Ok(line) => Some(line),
            Err(e) => {
                eprintln!("MISMATCH in {name} at step records: {e}");
                return ExitCode::from(1);
            }
        },
        (Ok(_), AnyBundle::V2(b), None) => b.snapshot.records.as_ref().map(|r| {
            format!(
                "member hashes of list {} ({} records), NOT checked against the list (give --list and --salt)",
                r.list_sha256, r.list_rows
            )
        }),
        _ => None,
    };
    match checked {
        Ok(v) => {
            if let Some(line) = &records {
                println!("records:      {line}");
            }
            println!("consistent: {name} ({})", v.spec);
            println!("pool hash:    {}", v.pool_hash);
            println!("seed:         {}", v.seed);
            println!("result hash:  {}", v.result_hash);
            println!("selections:   {}", v.selections);
            println!("replacements: {}", v.replacements);
            if let Some(h) = &v.replacements_head {
                println!("chain head:   {h}");
            }
            if let AnyBundle::V2(b) = &bundle {
                if !b.forfeited.is_empty() {
                    println!("forfeited:    {}", b.forfeited.join(", "));
                }
                if !b.snapshot.exclusions.is_empty() {
                    if earlier.is_empty() {
                        println!(
                            "exclusions:   {} earlier draw(s), NOT checked (give their bundles with --previous)",
                            b.snapshot.exclusions.len()
                        );
                    } else {
                        println!(
                            "exclusions:   {} earlier draw(s), each checked against its bundle",
                            b.snapshot.exclusions.len()
                        );
                    }
                }
                println!(
                    "conflicts:    {}",
                    if v.full_conflicts {
                        "full list (auditor's bundle)"
                    } else {
                        "proofs for the drawn institutions (public bundle)"
                    }
                );
            }
            let trust = bundle.trust();
            println!("trust:        {}", trust.zh());
            println!("              {}", trust.en());
            ExitCode::SUCCESS
        }
        Err(f) => {
            eprintln!("MISMATCH in {name} at step {}: {}", f.step.name(), f.reason);
            ExitCode::from(1)
        }
    }
}
