//! The planner tick in pure Rust, per call: p50 and p99 in microseconds, as one JSON object on
//! stdout. `bench/bench_planner.py --rust` runs it (`cargo bench -p voltyard-core --bench
//! planner_tick`) and records its figures next to the Python binding's.
//!
//! Scenarios come from `tests/fixtures/planner` (the same ones the Python bench times): `steady`
//! is the tick the appliance runs every 100 ms (previous plan given, contactor feedback settled on
//! it); `cold` is the first tick (no previous plan, every contactor open).

use std::fs;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use voltyard_core::planner::{Plan, Snapshot, plan};

const SCENARIOS: [(&str, &str); 2] = [("12_slots", "all_12_demanding"), ("96_slots", "ring_96_slots")];

fn load(name: &str) -> Snapshot {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../tests/fixtures/planner/{name}.json"));
    let scenario: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    serde_json::from_value(scenario["snapshot"].clone()).unwrap()
}

fn settled(mut snapshot: Snapshot, plan: &Plan) -> Snapshot {
    for (slot, t) in snapshot.slots.iter_mut().zip(&plan.slots) {
        (slot.gc_closed, slot.mc_closed, slot.cw_closed, slot.ccw_closed) = (t.gc, t.mc, t.cw, t.ccw);
        for (module, &on) in slot.modules.iter_mut().zip(&t.mn) {
            module.mn_closed = on;
        }
    }
    snapshot
}

/// Per-call times over `budget`, after a warm-up, as sorted microseconds.
fn sample(snapshot: &Snapshot, previous: Option<&Plan>, budget: Duration) -> Vec<f64> {
    for _ in 0..1000 {
        black_box(plan(black_box(snapshot), previous).unwrap());
    }
    let mut times = Vec::new();
    let end = Instant::now() + budget;
    while Instant::now() < end {
        let start = Instant::now();
        black_box(plan(black_box(snapshot), black_box(previous)).unwrap());
        times.push(start.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(f64::total_cmp);
    times
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

fn main() {
    let budget = Duration::from_secs_f64(std::env::var("PLANNER_BENCH_SECONDS").map_or(1.0, |s| s.parse().unwrap()));
    let mut rows = Vec::new();
    for (label, fixture) in SCENARIOS {
        let cold = load(fixture);
        let previous = plan(&cold, None).unwrap();
        let steady = settled(cold.clone(), &previous);
        for (kind, snapshot, previous) in [("steady", &steady, Some(&previous)), ("cold", &cold, None)] {
            let times = sample(snapshot, previous, budget);
            rows.push(format!(
                "\"{label}_{kind}\": {{\"calls\": {}, \"p50_us\": {:.3}, \"p99_us\": {:.3}, \"min_us\": {:.3}}}",
                times.len(),
                percentile(&times, 0.50),
                percentile(&times, 0.99),
                times[0]
            ));
        }
    }
    println!("{{{}}}", rows.join(", "));
}
