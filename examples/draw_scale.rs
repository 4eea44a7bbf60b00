//! Scale run of the draw engine: generate an N-institution snapshot (3 strata at 5 %,
//! three departments of 3,000 inspectors, sparse conflicts, cross-region rule), draw,
//! write the bundle, verify it in-process, and print timings.
//!
//! ```text
//! cargo run --release --example draw_scale -- 1000000 /tmp/bundle-1m.json
//! /usr/bin/time -v target/release/suiji verify /tmp/bundle-1m.json
//! ```

#[path = "support/scale_data.rs"]
mod scale_data;

use std::time::Instant;

use suiji::draw::{self, Bundle, CanonicalJson};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map(|a| a.replace('_', "").parse().expect("N must be a number"))
        .unwrap_or(1_000_000);
    let out = args
        .next()
        .unwrap_or_else(|| format!("/tmp/suiji-bundle-{n}.json"));

    let t = Instant::now();
    let (snapshot, entropy) = scale_data::snapshot(n);
    println!(
        "generate snapshot ({n} institutions): {:.3} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let ph = draw::pool_hash(&snapshot);
    println!(
        "pool hash (canonical JSON streamed into SHA-256): {:.3} s  {ph}",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let problems = draw::validate(&snapshot);
    assert!(problems.is_empty(), "{problems:?}");
    println!("validate: {:.3} s", t.elapsed().as_secs_f64());

    let t = Instant::now();
    let bad = draw::infeasible_pairs(&snapshot);
    assert!(bad.is_empty());
    println!("feasibility: {:.3} s", t.elapsed().as_secs_f64());

    let t = Instant::now();
    let seed = draw::seed(&ph, &entropy).unwrap();
    let r = draw::draw_with_seed(&snapshot, ph.clone(), &seed).unwrap();
    println!(
        "strata + teams only (seed given): {:.3} s  ({} selections)",
        t.elapsed().as_secs_f64(),
        r.selections.len()
    );

    let t = Instant::now();
    let result = draw::draw(&snapshot, &entropy).unwrap();
    println!(
        "draw() total (validate, feasibility, entropy, pool hash, seed, strata, teams): {:.3} s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(result, r);

    let t = Instant::now();
    let b = draw::bundle(snapshot, entropy, result, Vec::new());
    let bytes = b.canonical_bytes();
    std::fs::write(&out, &bytes).expect("write bundle");
    println!(
        "bundle written: {:.3} s  {out} ({:.1} MB)",
        t.elapsed().as_secs_f64(),
        bytes.len() as f64 / 1e6
    );
    drop(b);

    let t = Instant::now();
    let parsed: Bundle = serde_json::from_slice(&bytes).unwrap();
    let t_parse = t.elapsed().as_secs_f64();
    let v = draw::verify(&parsed).unwrap();
    println!(
        "verify in-process: parse {:.3} s + verify {:.3} s  ({} selections, result hash {})",
        t_parse,
        t.elapsed().as_secs_f64() - t_parse,
        v.selections,
        v.result_hash
    );
}
