//! The JSON schemas of one OCPP version (1.6 core and security extension, 2.0.1, 2.1), loaded
//! from a directory once and compiled once; `validate` checks a CALL, CALLRESULT or SEND payload
//! and, on failure, names the CALLERROR code, the field (as a JSON pointer) and the rule broken.
//!
//! File names: 1.6 `<Action>.json` / `<Action>Response.json`; 2.x `<Action>Request.json` /
//! `<Action>Response.json`, and 2.1's SEND-only messages `<Action>.json` (no response).
//!
//! Mapping from JSON-schema keywords to OCPP-J 1.6 codes (docs/ocppj.md has the table; 2.x uses
//! the same mapping in its spellings, `FormatViolation` and `OccurrenceConstraintViolation`):
//! a payload that is not an object and `additionalProperties` -> `FormationViolation` (not the PDU
//! structure); `type`, `maxLength`, `minLength` -> `TypeConstraintViolation` (the 1.6 data types,
//! `CiString20Type` and friends, carry the length); `required`, `minItems`, `maxItems` ->
//! `OccurenceConstraintViolation` (cardinality); every other keyword (`enum`, `format`, bounds,
//! `multipleOf`, `pattern`) -> `PropertyConstraintViolation` (a value out of its range).

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use super::schema_view::Tree;
use super::tree::JsonNode;

use super::Version;
use super::error_code::{ErrorCode, FrameError};

/// Which half of an exchange a payload belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The payload of a CALL (`<Action>.json`).
    Request,
    /// The payload of the CALLRESULT that answers it (`<Action>Response.json`).
    Response,
    /// 2.1: the payload of a SEND (`<Action>.json`, an action without a response).
    Send,
}

/// Why the schema directory could not be loaded.
#[derive(Debug)]
pub enum SchemaLoadError {
    /// The directory or a file in it could not be read.
    Io { path: PathBuf, source: std::io::Error },
    /// A file is not JSON, or not a schema the validator can compile.
    Invalid { path: PathBuf, reason: String },
    /// An action has a request schema and no response schema, or the reverse.
    Unpaired { action: String },
    /// The directory holds no schema at all.
    Empty { path: PathBuf },
}

impl fmt::Display for SchemaLoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Self::Invalid { path, reason } => write!(f, "{}: {reason}", path.display()),
            Self::Unpaired { action } => {
                write!(f, "action {action:?} lacks its request or its response schema")
            }
            Self::Empty { path } => write!(f, "{}: no *.json schema found", path.display()),
        }
    }
}

impl std::error::Error for SchemaLoadError {}

struct ActionSchemas {
    request: Validator<Tree>,
    /// None for a SEND-only action (2.1's `NotifyPeriodicEventStream`).
    response: Option<Validator<Tree>>,
}

/// The compiled schemas of every action of one version, keyed by action name.
pub struct SchemaSet {
    version: Version,
    actions: HashMap<String, ActionSchemas>,
    vocabulary: Vec<String>,
}

impl fmt::Debug for SchemaSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchemaSet")
            .field("version", &self.version)
            .field("actions", &self.actions.len())
            .field("vocabulary", &self.vocabulary.len())
            .finish()
    }
}

impl SchemaSet {
    /// Loads and compiles every `<Action>.json` / `<Action>Response.json` pair in `dir`
    /// (the layout of the `ocpp` package's `ocpp/v16/schemas`) as OCPP 1.6.
    pub fn load_dir(dir: &Path) -> Result<Self, SchemaLoadError> {
        Self::load(dir, Version::V16)
    }

    /// Loads and compiles every schema of `version` in `dir` (the `ocpp` package's
    /// `ocpp/v16/schemas`, `ocpp/v201/schemas` or `ocpp/v21/schemas`).
    pub fn load(dir: &Path, version: Version) -> Result<Self, SchemaLoadError> {
        let io_error = |path: &Path, source| SchemaLoadError::Io { path: path.to_owned(), source };
        let mut requests = HashMap::new();
        let mut responses = HashMap::new();
        let mut sends = HashMap::new();
        let mut vocabulary = BTreeSet::new();
        for entry in fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
            let path = entry.map_err(|e| io_error(dir, e))?.path();
            let Some(stem) = json_stem(&path) else { continue };
            let text = fs::read(&path).map_err(|e| io_error(&path, e))?;
            let invalid = |reason| SchemaLoadError::Invalid { path: path.clone(), reason };
            let schema: Value = serde_json::from_slice(&text).map_err(|e| invalid(format!("not JSON: {e}")))?;
            let validator = compile(&schema).map_err(invalid)?;
            collect_vocabulary(&schema, &mut vocabulary);
            if let Some(action) = stem.strip_suffix("Response") {
                responses.insert(action.to_owned(), validator);
            } else if !version.is_2x() {
                requests.insert(stem, validator);
            } else if let Some(action) = stem.strip_suffix("Request") {
                requests.insert(action.to_owned(), validator);
            } else {
                sends.insert(stem, validator);
            }
        }
        if requests.is_empty() && responses.is_empty() && sends.is_empty() {
            return Err(SchemaLoadError::Empty { path: dir.to_owned() });
        }
        let mut actions = HashMap::with_capacity(requests.len());
        for (action, request) in requests {
            let Some(response) = responses.remove(&action) else {
                return Err(SchemaLoadError::Unpaired { action });
            };
            actions.insert(action, ActionSchemas { request, response: Some(response) });
        }
        if let Some(action) = responses.into_keys().next() {
            return Err(SchemaLoadError::Unpaired { action });
        }
        for (action, request) in sends {
            if actions.contains_key(&action) {
                return Err(SchemaLoadError::Unpaired { action });
            }
            actions.insert(action, ActionSchemas { request, response: None });
        }
        let vocabulary = vocabulary.into_iter().collect();
        Ok(Self { version, actions, vocabulary })
    }

    /// The version whose schemas these are.
    #[must_use]
    pub fn version(&self) -> Version {
        self.version
    }

    /// Whether `action` is sent as a SEND (2.1: it has no response schema).
    #[must_use]
    pub fn is_send_only(&self, action: &str) -> bool {
        self.actions.get(action).is_some_and(|a| a.response.is_none())
    }

    /// The words of the protocol: every property name and every enumerated string value of every
    /// schema, sorted. Payloads repeat them all the time, so callers can prepare them once.
    #[must_use]
    pub fn vocabulary(&self) -> &[String] {
        &self.vocabulary
    }

    /// Whether `action` has schemas.
    #[must_use]
    pub fn knows(&self, action: &str) -> bool {
        self.actions.contains_key(action)
    }

    /// The action names (CALL and SEND), sorted.
    #[must_use]
    pub fn actions(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.actions.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Validates `payload` as the request or the response of `action`, or as the payload of a
    /// SEND. An unknown action is `NotImplemented` (and not echoed as the error's action); a CALL
    /// of a SEND-only action or a SEND of a CALL's action is `NotSupported`; the codes are in the
    /// version's spelling. The caller adds the message id.
    pub fn validate(&self, action: &str, direction: Direction, payload: JsonNode<'_>) -> Result<(), FrameError> {
        let Some(schemas) = self.actions.get(action) else {
            return Err(FrameError::new(
                ErrorCode::NotImplemented,
                format!("action {} is not an OCPP {} action", preview_str(action), self.version),
            ));
        };
        let validator = match (direction, &schemas.response) {
            (Direction::Request, Some(_)) | (Direction::Send, None) => &schemas.request,
            (Direction::Response, Some(response)) => response,
            (Direction::Request | Direction::Response, None) => {
                let error = format!("{action} is sent as a SEND (message type 6) and never answered");
                return Err(FrameError::new(ErrorCode::NotSupported, error).with_action(action));
            }
            (Direction::Send, Some(_)) => {
                let error = format!("{action} is a CALL action: a SEND (message type 6) cannot carry it");
                return Err(FrameError::new(ErrorCode::NotSupported, error).with_action(action));
            }
        };
        if validator.is_valid(payload) {
            return Ok(());
        }
        match validator.validate(payload) {
            Ok(()) => Ok(()),
            Err(error) => Err(describe(&error).with_action(action).spelled_for(self.version)),
        }
    }
}

fn json_stem(path: &Path) -> Option<String> {
    if path.extension()? != "json" {
        return None;
    }
    path.file_stem()?.to_str().map(str::to_owned)
}

fn compile(schema: &Value) -> Result<Validator<Tree>, String> {
    jsonschema::options_for::<Tree>()
        .should_validate_formats(true)
        .build(schema)
        .map_err(|e| format!("not a valid schema: {e}"))
}

fn collect_vocabulary(schema: &Value, words: &mut BTreeSet<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Object(properties)) = map.get("properties") {
                words.extend(properties.keys().cloned());
            }
            if let Some(Value::Array(values)) = map.get("enum") {
                words.extend(values.iter().filter_map(Value::as_str).map(str::to_owned));
            }
            map.values().for_each(|v| collect_vocabulary(v, words));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_vocabulary(v, words)),
        _ => {}
    }
}

/// The CALLERROR code and the description for the first validation error.
fn describe(error: &ValidationError<'_>) -> FrameError {
    let at = error.instance_path().as_str();
    let place = if at.is_empty() { "payload" } else { at };
    let (code, what) = match error.kind() {
        ValidationErrorKind::Type { kind } if at.is_empty() => {
            (ErrorCode::FormationViolation, format!("must be {}, got {}", type_name(kind), json_type(error.instance())))
        }
        ValidationErrorKind::Type { kind } => (
            ErrorCode::TypeConstraintViolation,
            format!("must be {}, got {}", type_name(kind), json_type(error.instance())),
        ),
        ValidationErrorKind::AdditionalProperties { unexpected } => (
            ErrorCode::FormationViolation,
            format!("unexpected propert{} {}", if unexpected.len() == 1 { "y" } else { "ies" }, quoted(unexpected)),
        ),
        ValidationErrorKind::Required { property } => {
            (ErrorCode::OccurenceConstraintViolation, format!("required property {} is missing", preview(property)))
        }
        ValidationErrorKind::MinItems { limit } => {
            (ErrorCode::OccurenceConstraintViolation, format!("must hold at least {limit} item(s)"))
        }
        ValidationErrorKind::MaxItems { limit } => {
            (ErrorCode::OccurenceConstraintViolation, format!("must hold at most {limit} item(s)"))
        }
        ValidationErrorKind::MaxLength { limit } => {
            (ErrorCode::TypeConstraintViolation, format!("must be at most {limit} characters long"))
        }
        ValidationErrorKind::MinLength { limit } => {
            (ErrorCode::TypeConstraintViolation, format!("must be at least {limit} characters long"))
        }
        ValidationErrorKind::Enum { options } => (
            ErrorCode::PropertyConstraintViolation,
            format!("{} is not one of {}", preview(error.instance()), preview(options)),
        ),
        ValidationErrorKind::Format { format } => {
            (ErrorCode::PropertyConstraintViolation, format!("{} is not a valid {format}", preview(error.instance())))
        }
        ValidationErrorKind::Minimum { limit } | ValidationErrorKind::ExclusiveMinimum { limit } => (
            ErrorCode::PropertyConstraintViolation,
            format!("{} is below the limit {limit}", preview(error.instance())),
        ),
        ValidationErrorKind::Maximum { limit } | ValidationErrorKind::ExclusiveMaximum { limit } => (
            ErrorCode::PropertyConstraintViolation,
            format!("{} is above the limit {limit}", preview(error.instance())),
        ),
        _ => (
            ErrorCode::PropertyConstraintViolation,
            format!("{} does not satisfy the schema", preview(error.instance())),
        ),
    };
    FrameError::new(code, format!("{place}: {what} ({})", error.kind().keyword()))
}

fn type_name(kind: &TypeKind) -> String {
    match kind {
        TypeKind::Single(t) => format!("{t}"),
        TypeKind::Multiple(set) => format!("{set:?}"),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A JSON rendering of `value` cut to a length fit for a CALLERROR description.
pub(crate) fn preview(value: &Value) -> String {
    const LIMIT: usize = 120;
    let text = value.to_string();
    if text.chars().count() <= LIMIT {
        return text;
    }
    let mut cut: String = text.chars().take(LIMIT).collect();
    cut.push('…');
    cut
}

pub(crate) fn preview_str(text: &str) -> String {
    preview(&Value::String(text.to_owned()))
}

fn quoted(names: &[String]) -> String {
    let names: Vec<String> = names.iter().map(|n| preview_str(n)).collect();
    names.join(", ")
}
