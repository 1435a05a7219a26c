//! The planner tick in pure Rust, per call: p50 and p99 in microseconds, as one JSON object on
//! stdout. `bench/bench_planner.py --rust` runs it (`cargo bench -p voltyard-core --bench
//! planner_tick`) and records its figures next to the Python binding's.
//!
//! Scenarios come from `tests/fixtures/planner` (the same ones the Python bench times): `steady`
//! is the tick the appliance runs every 100 ms (previous plan given, contactor feedback settled on
//! it); `cold` is the first tick (no previous plan, every contactor open). `96_slots_random` looks
//! for the algorithm's worst case instead: 2 000 random 96-slot rings (sessions, demands, faults,
//! trips, temperatures, feedback, share, half with a previous plan of another random state), each
//! timed best of 5 so that the figure is the planner's and not the machine's preemptions.

use std::fs;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use voltyard_core::planner::{Derating, Gun, Module, Plan, Session, Settings, Slot, Snapshot, plan};

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

/// xorshift64: reproducible random rings without a dependency.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        #[allow(clippy::cast_precision_loss)]
        let unit = (self.0 >> 11) as f64 / (1u64 << 53) as f64;
        unit
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

fn random_ring(r: &mut Rng, n: usize) -> Snapshot {
    let slots = (0..n)
        .map(|i| Slot {
            home_gun: Some(i),
            modules: (0..2)
                .map(|_| Module {
                    healthy: r.chance(0.95),
                    tripped: r.chance(0.03),
                    temperature_c: 20.0 + 70.0 * r.unit(),
                    mn_closed: r.chance(0.5),
                })
                .collect(),
            gc_closed: r.chance(0.3),
            mc_closed: r.chance(0.3),
            cw_closed: r.chance(0.3),
            ccw_closed: r.chance(0.3),
        })
        .collect();
    let guns = (0..n)
        .map(|_| Gun {
            session: if r.chance(0.6) {
                Session::Charging
            } else if r.chance(0.5) {
                Session::Idle
            } else {
                Session::Suspended
            },
            target_voltage_v: 300.0 + 500.0 * r.unit(),
            target_current_a: 500.0 * r.unit(),
            max_power_kw: 50.0 + 300.0 * r.unit(),
            max_voltage_v: 1000.0,
            max_current_a: 500.0,
            safety_ok: r.chance(0.97),
            comm_ok: r.chance(0.99),
            connector_temperature_c: 20.0 + 80.0 * r.unit(),
        })
        .collect();
    let settings = Settings {
        module_rating_kw: 30.0,
        connector_derating: Derating { start_c: 80.0, trip_c: 100.0 },
        module_derating: Derating { start_c: 70.0, trip_c: 90.0 },
        min_gain_kw: if r.chance(0.5) { 0.0 } else { 10.0 },
    };
    Snapshot { slots, guns, cabinet_share_kw: 6000.0 * r.unit(), settings }
}

/// Best-of-5 per-call times over 2 000 random 96-slot rings, sorted.
fn random_rings() -> Vec<f64> {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let mut times = Vec::new();
    for _ in 0..2000 {
        let snapshot = random_ring(&mut r, 96);
        let previous = if r.chance(0.5) { Some(plan(&random_ring(&mut r, 96), None).unwrap()) } else { None };
        let best = (0..5)
            .map(|_| {
                let start = Instant::now();
                black_box(plan(black_box(&snapshot), previous.as_ref()).unwrap());
                start.elapsed().as_secs_f64() * 1e6
            })
            .fold(f64::INFINITY, f64::min);
        times.push(best);
    }
    times.sort_by(f64::total_cmp);
    times
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
    let times = random_rings();
    rows.push(format!(
        "\"96_slots_random\": {{\"calls\": {}, \"p50_us\": {:.3}, \"p99_us\": {:.3}, \"max_us\": {:.3}}}",
        times.len(),
        percentile(&times, 0.50),
        percentile(&times, 0.99),
        times[times.len() - 1]
    ));
    println!("{{{}}}", rows.join(", "));
}
