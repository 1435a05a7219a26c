//! The planner for Python: a snapshot read from Python objects by attribute (the frozen
//! dataclasses of `voltyard.power`, or anything shaped like them), the plan handed back as frozen
//! classes whose fields are plain Python values.

use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};
use pyo3::{IntoPyObjectExt, intern};
use voltyard_core::planner::{self as core, ContactorKind, Ramp, Session};

use crate::errors::{CoreError, planner_error};

/// Reads attribute `name` of `object` as a `T`; a failure names the field, as `guns[3].session`.
fn field<'py, T: FromPyObjectOwned<'py>>(
    object: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
    path: &dyn Fn() -> String,
) -> Result<T, CoreError> {
    let wrong = |e: PyErr| planner_error(format!("{}.{name}", path()), &e.value(object.py()).to_string());
    object.getattr(name).map_err(wrong)?.extract::<T>().map_err(|e| wrong(e.into()))
}

/// The items of a sequence attribute, each with its index.
fn items<'py>(
    object: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
    path: &dyn Fn() -> String,
) -> Result<Vec<Bound<'py, PyAny>>, CoreError> {
    let wrong = |e: PyErr| planner_error(format!("{}.{name}", path()), &e.value(object.py()).to_string());
    object.getattr(name).map_err(wrong)?.try_iter().map_err(wrong)?.map(|item| item.map_err(wrong)).collect()
}

fn session(value: &str, path: &dyn Fn() -> String) -> Result<Session, CoreError> {
    Ok(match value {
        "idle" => Session::Idle,
        "preparing" => Session::Preparing,
        "charging" => Session::Charging,
        "suspended" => Session::Suspended,
        "finishing" => Session::Finishing,
        other => {
            return Err(planner_error(
                format!("{}.session", path()),
                &format!("{other:?} is not one of idle, preparing, charging, suspended, finishing"),
            ));
        }
    })
}

fn module(object: &Bound<'_, PyAny>, path: &dyn Fn() -> String) -> Result<core::Module, CoreError> {
    let py = object.py();
    Ok(core::Module {
        healthy: field(object, intern!(py, "healthy"), path)?,
        tripped: field(object, intern!(py, "tripped"), path)?,
        temperature_c: field(object, intern!(py, "temperature_c"), path)?,
        mn_closed: field(object, intern!(py, "mn_closed"), path)?,
    })
}

fn slot(object: &Bound<'_, PyAny>, path: &dyn Fn() -> String) -> Result<core::Slot, CoreError> {
    let py = object.py();
    let modules = items(object, intern!(py, "modules"), path)?
        .iter()
        .enumerate()
        .map(|(m, item)| module(item, &|| format!("{}.modules[{m}]", path())))
        .collect::<Result<_, _>>()?;
    Ok(core::Slot {
        home_gun: field(object, intern!(py, "home_gun"), path)?,
        modules,
        gc_closed: field(object, intern!(py, "gc_closed"), path)?,
        mc_closed: field(object, intern!(py, "mc_closed"), path)?,
        cw_closed: field(object, intern!(py, "cw_closed"), path)?,
        ccw_closed: field(object, intern!(py, "ccw_closed"), path)?,
    })
}

fn gun(object: &Bound<'_, PyAny>, path: &dyn Fn() -> String) -> Result<core::Gun, CoreError> {
    let py = object.py();
    let state: Bound<'_, PyString> = field(object, intern!(py, "session"), path)?;
    let state = state.to_str().map_err(|e| planner_error(format!("{}.session", path()), &e.to_string()))?;
    Ok(core::Gun {
        session: session(state, path)?,
        target_voltage_v: field(object, intern!(py, "target_voltage_v"), path)?,
        target_current_a: field(object, intern!(py, "target_current_a"), path)?,
        max_power_kw: field(object, intern!(py, "max_power_kw"), path)?,
        max_voltage_v: field(object, intern!(py, "max_voltage_v"), path)?,
        max_current_a: field(object, intern!(py, "max_current_a"), path)?,
        safety_ok: field(object, intern!(py, "safety_ok"), path)?,
        comm_ok: field(object, intern!(py, "comm_ok"), path)?,
        connector_temperature_c: field(object, intern!(py, "connector_temperature_c"), path)?,
    })
}

fn derating(object: &Bound<'_, PyAny>, path: &dyn Fn() -> String) -> Result<core::Derating, CoreError> {
    let py = object.py();
    Ok(core::Derating {
        start_c: field(object, intern!(py, "start_c"), path)?,
        trip_c: field(object, intern!(py, "trip_c"), path)?,
    })
}

fn read_snapshot(object: &Bound<'_, PyAny>) -> Result<core::Snapshot, CoreError> {
    let py = object.py();
    let top = || String::from("snapshot");
    let settings: Bound<'_, PyAny> = field(object, intern!(py, "settings"), &top)?;
    let in_settings = || String::from("settings");
    let connector: Bound<'_, PyAny> = field(&settings, intern!(py, "connector_derating"), &in_settings)?;
    let modules: Bound<'_, PyAny> = field(&settings, intern!(py, "module_derating"), &in_settings)?;
    let slots = items(object, intern!(py, "slots"), &top)?
        .iter()
        .enumerate()
        .map(|(s, item)| slot(item, &|| format!("slots[{s}]")))
        .collect::<Result<_, _>>()?;
    let guns = items(object, intern!(py, "guns"), &top)?
        .iter()
        .enumerate()
        .map(|(g, item)| gun(item, &|| format!("guns[{g}]")))
        .collect::<Result<_, _>>()?;
    Ok(core::Snapshot {
        slots,
        guns,
        cabinet_share_kw: field(object, intern!(py, "cabinet_share_kw"), &top)?,
        settings: core::Settings {
            module_rating_kw: field(&settings, intern!(py, "module_rating_kw"), &in_settings)?,
            connector_derating: derating(&connector, &|| String::from("settings.connector_derating"))?,
            module_derating: derating(&modules, &|| String::from("settings.module_derating"))?,
            min_gain_kw: field(&settings, intern!(py, "min_gain_kw"), &in_settings)?,
        },
    })
}

/// Plans one tick: see `voltyard._native.plan` in the stub.
#[pyfunction]
#[pyo3(signature = (snapshot, previous = None))]
pub fn plan(snapshot: &Bound<'_, PyAny>, previous: Option<&Bound<'_, Plan>>) -> Result<Plan, CoreError> {
    let snapshot = read_snapshot(snapshot)?;
    let inner = core::plan(&snapshot, previous.map(|p| &p.get().inner))?;
    Ok(Plan { inner })
}

/// One tick's plan; its fields are built as Python values when read.
#[pyclass(frozen, module = "voltyard._native")]
pub struct Plan {
    inner: core::Plan,
}

/// One gun's part of a plan.
#[pyclass(frozen, module = "voltyard._native")]
pub struct GunPlan {
    #[pyo3(get)]
    demand_kw: f64,
    #[pyo3(get)]
    budget_kw: f64,
    #[pyo3(get)]
    island: Py<PyTuple>,
    #[pyo3(get)]
    modules_on: Py<PyTuple>,
    #[pyo3(get)]
    limit: Py<PyString>,
}

/// One slot's contactor targets (True = closed).
#[allow(clippy::struct_excessive_bools)] // one per contactor: each is a physical open/closed
#[pyclass(frozen, module = "voltyard._native")]
pub struct SlotTargets {
    #[pyo3(get)]
    gc: bool,
    #[pyo3(get)]
    mc: bool,
    #[pyo3(get)]
    cw: bool,
    #[pyo3(get)]
    ccw: bool,
    #[pyo3(get)]
    mn: Py<PyTuple>,
}

/// One step of the switching sequence.
#[pyclass(frozen, module = "voltyard._native")]
pub struct Step {
    #[pyo3(get)]
    kind: Py<PyString>,
    #[pyo3(get)]
    guns: Py<PyTuple>,
    #[pyo3(get)]
    modules: Py<PyTuple>,
    #[pyo3(get)]
    contactors: Py<PyTuple>,
}

fn modules_tuple<'py>(py: Python<'py>, modules: &[core::ModuleRef]) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, modules.iter().map(|m| (m.slot, m.index)))
}

fn step(py: Python<'_>, step: &core::Step) -> PyResult<Step> {
    let empty = || PyTuple::empty(py).unbind();
    let ramp = |kind: &Bound<'_, PyString>, r: &Ramp| -> PyResult<Step> {
        Ok(Step {
            kind: kind.clone().unbind(),
            guns: PyTuple::new(py, &r.guns)?.unbind(),
            modules: modules_tuple(py, &r.modules)?.unbind(),
            contactors: empty(),
        })
    };
    let switch = |kind: &Bound<'_, PyString>, cs: &[core::Contactor]| -> PyResult<Step> {
        let contactors = cs.iter().map(|c| {
            let module = match c.kind {
                ContactorKind::Mn(index) => Some(index),
                _ => None,
            };
            (c.slot, c.kind.as_str(), module)
        });
        Ok(Step {
            kind: kind.clone().unbind(),
            guns: empty(),
            modules: empty(),
            contactors: PyTuple::new(py, contactors)?.unbind(),
        })
    };
    match step {
        core::Step::RampDown(r) => ramp(intern!(py, "ramp_down"), r),
        core::Step::Open(cs) => switch(intern!(py, "open"), cs),
        core::Step::Close(cs) => switch(intern!(py, "close"), cs),
        core::Step::RampUp(r) => ramp(intern!(py, "ramp_up"), r),
    }
}

fn limit(py: Python<'_>, limit: core::Limit) -> &Bound<'_, PyString> {
    match limit {
        core::Limit::Demand => intern!(py, "demand"),
        core::Limit::Modules => intern!(py, "modules"),
        core::Limit::Thermal => intern!(py, "thermal"),
        core::Limit::Grid => intern!(py, "grid"),
        core::Limit::Safety => intern!(py, "safety"),
    }
}

#[pymethods]
impl Plan {
    #[getter]
    fn guns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let ring = self.inner.slots.len();
        let guns = self.inner.guns.iter().map(|g| {
            let island: Vec<usize> = g.island.map(|i| i.slots(ring).collect()).unwrap_or_default();
            Ok(GunPlan {
                demand_kw: g.demand_kw,
                budget_kw: g.budget_kw,
                island: PyTuple::new(py, island)?.unbind(),
                modules_on: modules_tuple(py, &g.modules_on)?.unbind(),
                limit: limit(py, g.limit).clone().unbind(),
            })
        });
        PyTuple::new(py, guns.collect::<PyResult<Vec<_>>>()?)
    }

    #[getter]
    fn slots<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let slots = self.inner.slots.iter().map(|t| {
            Ok(SlotTargets { gc: t.gc, mc: t.mc, cw: t.cw, ccw: t.ccw, mn: PyTuple::new(py, &t.mn)?.unbind() })
        });
        PyTuple::new(py, slots.collect::<PyResult<Vec<_>>>()?)
    }

    #[getter]
    fn sequence<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.sequence.iter().map(|s| step(py, s)).collect::<PyResult<Vec<_>>>()?)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = other.py();
        match other.cast::<Self>() {
            Ok(other) => (self.inner == other.get().inner).into_py_any(py),
            Err(_) => Ok(py.NotImplemented()),
        }
    }

    fn __repr__(&self) -> String {
        let fed = self.inner.guns.iter().filter(|g| g.island.is_some()).count();
        let total: f64 = self.inner.guns.iter().map(|g| g.budget_kw).sum();
        format!(
            "<Plan: {} guns ({fed} fed, {total:.1} kW), {} slots, {} switching steps>",
            self.inner.guns.len(),
            self.inner.slots.len(),
            self.inner.sequence.len()
        )
    }
}

#[pymethods]
impl GunPlan {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            // `{:?}` writes floats as Python's repr does: shortest round trip, with a ".0".
            "GunPlan(demand_kw={:?}, budget_kw={:?}, island={}, modules_on={}, limit={})",
            self.demand_kw,
            self.budget_kw,
            self.island.bind(py).repr()?,
            self.modules_on.bind(py).repr()?,
            self.limit.bind(py).repr()?
        ))
    }
}

#[pymethods]
impl SlotTargets {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let b = |v: bool| if v { "True" } else { "False" };
        Ok(format!(
            "SlotTargets(gc={}, mc={}, cw={}, ccw={}, mn={})",
            b(self.gc),
            b(self.mc),
            b(self.cw),
            b(self.ccw),
            self.mn.bind(py).repr()?
        ))
    }
}

#[pymethods]
impl Step {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Step(kind={}, guns={}, modules={}, contactors={})",
            self.kind.bind(py).repr()?,
            self.guns.bind(py).repr()?,
            self.modules.bind(py).repr()?,
            self.contactors.bind(py).repr()?
        ))
    }
}
