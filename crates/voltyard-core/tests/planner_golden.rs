//! The golden planner scenarios of `tests/fixtures/planner`, shared with pytest
//! (`tests/unit/test_native_planner.py`), which runs the same files through the Python binding.
//!
//! A scenario's `snapshot` is planned without a previous plan. When it has `then` (JSON pointer ->
//! new value), the changed snapshot is planned next with the first plan as the previous one, its
//! contactor feedback settled on the first plan's targets, as a finished switching sequence leaves
//! it. `expect` is checked against the last plan; every key of it is optional.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use voltyard_core::planner::{Contactor, ContactorKind, ModuleRef, Plan, Snapshot, Step, plan};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/planner")
}

fn read(name: &str) -> Value {
    serde_json::from_slice(&fs::read(fixtures().join(name)).unwrap()).unwrap()
}

/// The snapshot with each JSON pointer set to its value; the last key may be new to its object
/// (fields left at their default are absent from the fixtures).
fn changed(snapshot: &Value, changes: &Value) -> Value {
    let mut snapshot = snapshot.clone();
    for (pointer, value) in changes.as_object().expect("changes are an object") {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        match snapshot.pointer_mut(parent) {
            Some(Value::Object(object)) => drop(object.insert(key.to_owned(), value.clone())),
            Some(Value::Array(array)) => array[key.parse::<usize>().unwrap()] = value.clone(),
            _ => panic!("no {parent} in the snapshot"),
        }
    }
    snapshot
}

fn settle(snapshot: &mut Snapshot, plan: &Plan) {
    for (slot, t) in snapshot.slots.iter_mut().zip(&plan.slots) {
        (slot.gc_closed, slot.mc_closed, slot.cw_closed, slot.ccw_closed) = (t.gc, t.mc, t.cw, t.ccw);
        for (module, &on) in slot.modules.iter_mut().zip(&t.mn) {
            module.mn_closed = on;
        }
    }
}

fn run(scenario: &Value) -> (usize, Plan) {
    let first: Snapshot = serde_json::from_value(scenario["snapshot"].clone()).unwrap();
    let planned = plan(&first, None).unwrap();
    let Some(changes) = scenario.get("then") else { return (first.slots.len(), planned) };
    let mut next: Snapshot = serde_json::from_value(changed(&scenario["snapshot"], changes)).unwrap();
    settle(&mut next, &planned);
    (next.slots.len(), plan(&next, Some(&planned)).unwrap())
}

fn contactor(c: &Contactor) -> String {
    match c.kind {
        ContactorKind::Mn(index) => format!("{}:mn{index}", c.slot),
        kind => format!("{}:{}", c.slot, kind.as_str()),
    }
}

fn module(m: &ModuleRef) -> String {
    format!("{}:{}", m.slot, m.index)
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

fn close(name: &str, what: &str, got: f64, expected: &Value) {
    let expected = expected.as_f64().unwrap();
    assert!((got - expected).abs() < 1e-6, "{name}: {what} is {got}, expected {expected}");
}

fn check(name: &str, expect: &Value, ring: usize, plan: &Plan) {
    if let Some(total) = expect.get("total_budget_kw") {
        close(name, "the total budget", plan.guns.iter().map(|g| g.budget_kw).sum(), total);
    }
    for (gun, e) in expect.get("guns").and_then(Value::as_object).into_iter().flatten() {
        let g = &plan.guns[gun.parse::<usize>().unwrap()];
        let what = |field: &str| format!("gun {gun} {field}");
        if let Some(budget) = e.get("budget_kw") {
            close(name, &what("budget"), g.budget_kw, budget);
        }
        if let Some(limit) = e.get("limit") {
            assert_eq!(g.limit.as_str(), limit.as_str().unwrap(), "{name}: {}", what("limit"));
        }
        if let Some(island) = e.get("island") {
            let got: Option<Vec<usize>> = g.island.map(|i| i.slots(ring).collect());
            let expected: Option<Vec<usize>> = serde_json::from_value(island.clone()).unwrap();
            assert_eq!(got, expected, "{name}: {}", what("island"));
        }
        if let Some(count) = e.get("modules_on") {
            assert_eq!(Some(g.modules_on.len() as u64), count.as_u64(), "{name}: {}", what("modules on"));
        }
    }
    let phase = |step: &Step| match step {
        Step::RampDown(_) => "ramp_down",
        Step::Open(_) => "open",
        Step::Close(_) => "close",
        Step::RampUp(_) => "ramp_up",
    };
    if let Some(sequence) = expect.get("sequence") {
        assert_eq!(plan.sequence.iter().map(phase).collect::<Vec<_>>(), strings(sequence), "{name}: sequence");
    }
    let down = plan.sequence.iter().find_map(|s| if let Step::RampDown(r) = s { Some(r.clone()) } else { None });
    let down = down.unwrap_or_default();
    if let Some(guns) = expect.get("ramp_down_guns") {
        let expected: Vec<usize> = serde_json::from_value(guns.clone()).unwrap();
        assert_eq!(down.guns, expected, "{name}: guns ramped down");
    }
    if let Some(modules) = expect.get("ramp_down_modules") {
        assert_eq!(
            down.modules.iter().map(module).collect::<Vec<_>>(),
            strings(modules),
            "{name}: modules ramped down"
        );
    }
    for (key, which) in [("open", "open"), ("close", "close")] {
        let Some(expected) = expect.get(key) else { continue };
        let got = plan.sequence.iter().find_map(|s| match (s, which) {
            (Step::Open(c), "open") | (Step::Close(c), "close") => Some(c.iter().map(contactor).collect::<Vec<_>>()),
            _ => None,
        });
        assert_eq!(got.unwrap_or_default(), strings(expected), "{name}: {key}");
    }
}

#[test]
fn every_scenario_plans_as_expected() {
    let mut names: Vec<String> = fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| Path::new(n).extension().is_some_and(|e| e == "json") && n != "invalid.json")
        .collect();
    names.sort();
    assert!(names.len() >= 9, "{names:?}");
    for name in &names {
        let scenario = read(name);
        let (ring, plan) = run(&scenario);
        check(name, &scenario["expect"], ring, &plan);
    }
}

#[test]
fn every_invalid_snapshot_is_refused_naming_its_field() {
    let table = read("invalid.json");
    let base = read(&format!("{}.json", table["base"].as_str().unwrap()));
    let cases = table["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let snapshot: Snapshot = serde_json::from_value(changed(&base["snapshot"], &case["set"])).unwrap();
        let error = plan(&snapshot, None).expect_err(case["name"].as_str().unwrap());
        assert_eq!(error.field(), case["field"].as_str().unwrap(), "{}: {error}", case["name"]);
        assert!(error.to_string().starts_with(&format!("{}: ", error.field())), "{error}");
    }
}

#[test]
fn non_finite_numbers_are_refused() {
    let mut snapshot: Snapshot = serde_json::from_value(read("all_12_demanding.json")["snapshot"].clone()).unwrap();
    snapshot.slots[5].modules[1].temperature_c = f64::NAN;
    let error = plan(&snapshot, None).unwrap_err();
    assert_eq!(error.to_string(), "slots[5].modules[1].temperature_c: must be a finite number, got NaN");
    snapshot.slots[5].modules[1].temperature_c = 25.0;
    snapshot.guns[0].max_voltage_v = f64::INFINITY;
    assert_eq!(plan(&snapshot, None).unwrap_err().field(), "guns[0].max_voltage_v");
}

#[test]
fn a_previous_plan_for_another_ring_is_refused() {
    let big: Snapshot = serde_json::from_value(read("ring_96_slots.json")["snapshot"].clone()).unwrap();
    let small: Snapshot = serde_json::from_value(read("all_12_demanding.json")["snapshot"].clone()).unwrap();
    let previous = plan(&big, None).unwrap();
    let error = plan(&small, Some(&previous)).unwrap_err();
    assert_eq!(error.to_string(), "previous.guns: the previous plan has 96, the snapshot 12");
}
