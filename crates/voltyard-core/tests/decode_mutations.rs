//! The `decode_frame` fuzz target's checks (`fuzz/decode_checks.rs`) over mutated golden frames, for
//! machines without cargo-fuzz or libFuzzer: no coverage guidance, so it is a weaker search, but it
//! runs on stable Rust. A short run is part of `cargo test` (when `VOLTYARD_OCPP_SCHEMAS` is set);
//! a long one is asked for by time and version:
//!
//! ```sh
//! VOLTYARD_MUTATION_SECONDS=600 VOLTYARD_OCPP_VERSION=2.0.1 \
//!     cargo test --release -p voltyard-core --test decode_mutations -- --nocapture
//! ```
//!
//! The seeds are every golden frame of the versions run (valid and invalid); each input is a seed
//! changed one to eight times: bytes flipped, set or dropped, a JSON token inserted, a stretch
//! repeated or cut, or the tail of another seed spliced on. The PRNG is seeded from
//! `VOLTYARD_MUTATION_SEED` (else a fixed seed) and the seed is printed, so a failure replays.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

include!("../fuzz/decode_checks.rs");

const TOKENS: [&[u8]; 24] = [
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\"",
    b"\\",
    b"null",
    b"true",
    b"-0",
    b"1e400",
    b"0.1",
    b"18446744073709551616",
    b"\"\\u0000\"",
    b"\"\\ud800\"",
    b"[5,",
    b"[6,",
    b"\"customData\":{}",
    b"\"seqNo\":",
    b"\"eventType\":\"Updated\"",
    b"\"2026-12-07T05:40:00Z\"",
    b"\"NotifyPeriodicEventStream\"",
    b"\xff",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: enough for picking mutations, and it replays from its seed.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap_or(0)
    }
}

fn seeds(versions: &[Version]) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/frames");
    let mut seeds = Vec::new();
    for &version in versions {
        let dir: PathBuf = match version {
            Version::V16 => root.clone(),
            Version::V201 => root.join("v201"),
            Version::V21 => root.join("v21"),
        };
        for entry in fs::read_dir(dir.join("valid")).unwrap() {
            seeds.push(fs::read(entry.unwrap().path()).unwrap());
        }
        let table: Vec<serde_json::Value> =
            serde_json::from_slice(&fs::read(dir.join("invalid.json")).unwrap()).unwrap();
        for case in table {
            if let Some(frame) = case["frame"].as_str() {
                seeds.push(frame.as_bytes().to_vec());
            }
        }
    }
    seeds
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds[rng.below(seeds.len())].clone();
    for _ in 0..=rng.below(8) {
        let at = rng.below(data.len() + 1);
        match rng.below(7) {
            0 if at < data.len() => data[at] ^= 1 << rng.below(8),
            1 if at < data.len() => data[at] = u8::try_from(rng.below(256)).unwrap_or(0),
            2 if at < data.len() => drop(data.drain(at..(at + 1 + rng.below(16)).min(data.len()))),
            3 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                data.splice(at..at, token.iter().copied());
            }
            4 if at < data.len() => {
                let end = (at + 1 + rng.below(64)).min(data.len());
                let stretch = data[at..end].to_vec();
                data.splice(at..at, stretch);
            }
            5 => data.truncate(at),
            _ => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len());
                data.truncate(at);
                data.extend_from_slice(&other[from..]);
            }
        }
    }
    data
}

#[test]
fn mutated_golden_frames_keep_the_decoders_promises() {
    if std::env::var_os("VOLTYARD_OCPP_SCHEMAS").is_none() {
        assert!(std::env::var_os("VOLTYARD_REQUIRE_SCHEMAS").is_none(), "VOLTYARD_OCPP_SCHEMAS must be set");
        eprintln!("skipped: VOLTYARD_OCPP_SCHEMAS is not set");
        return;
    }
    let sets = load_schema_sets();
    let versions: Vec<Version> = sets.iter().map(SchemaSet::version).collect();
    let seeds = seeds(&versions);
    let seconds: u64 = std::env::var("VOLTYARD_MUTATION_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(2);
    let seed: u64 =
        std::env::var("VOLTYARD_MUTATION_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_0f0c_c920_2026);
    let mut rng = Rng(seed | 1);
    let (start, budget) = (Instant::now(), Duration::from_secs(seconds));
    let mut runs: u64 = 0;
    while start.elapsed() < budget {
        for _ in 0..256 {
            let data = mutate(&mut rng, &seeds);
            for schemas in &sets {
                let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_decode(&data, schemas)));
                assert!(checked.is_ok(), "OCPP {}: input {:?}", schemas.version(), String::from_utf8_lossy(&data));
            }
            runs += 1;
        }
    }
    let versions: Vec<&str> = versions.iter().map(|v| v.as_str()).collect();
    eprintln!(
        "decode_mutations: {runs} inputs x {versions:?} in {:.1} s (seed {seed}, {} seeds)",
        start.elapsed().as_secs_f64(),
        seeds.len()
    );
}
