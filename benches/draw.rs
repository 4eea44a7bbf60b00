//! Criterion benchmarks of the draw engine at scale (issue 3 §6): a 1,000,000-institution
//! snapshot in 3 strata at 5 %, three departments of 3,000 inspectors with sparse
//! conflicts, cross-region rule on. Small sample sizes so `cargo bench --bench draw`
//! finishes in a few minutes. Peak memory of `suiji verify` is measured with
//! `examples/draw_scale.rs` and `/usr/bin/time -v` instead (see docs/draw-spec.md).

#[path = "../examples/support/scale_data.rs"]
mod scale_data;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use suiji::draw::{self, Bundle, CanonicalJson};

const N: usize = 1_000_000;

fn scale(c: &mut Criterion) {
    let (snapshot, entropy) = scale_data::snapshot(N);
    let ph = draw::pool_hash(&snapshot);
    let seed = draw::seed(&ph, &entropy).unwrap();

    c.bench_function("pool_hash 1M (canonical JSON -> SHA-256)", |b| {
        b.iter(|| draw::pool_hash(black_box(&snapshot)))
    });
    c.bench_function("strata + teams 1M (draw_with_seed)", |b| {
        b.iter(|| draw::draw_with_seed(black_box(&snapshot), ph.clone(), &seed).unwrap())
    });
    c.bench_function(
        "draw 1M (validate, feasibility, entropy, hash, seed, teams)",
        |b| b.iter(|| draw::draw(black_box(&snapshot), &entropy).unwrap()),
    );

    let result = draw::draw(&snapshot, &entropy).unwrap();
    let bytes = draw::bundle(snapshot, entropy, result, Vec::new()).canonical_bytes();
    c.bench_function("verify 1M bundle from bytes (parse + verify)", |b| {
        b.iter(|| {
            let bundle: Bundle = serde_json::from_slice(black_box(&bytes)).unwrap();
            draw::verify(&bundle).unwrap()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    targets = scale
}
criterion_main!(benches);
