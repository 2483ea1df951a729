//! Extractors that give the documented answers instead of axum's plain-text rejections, in the
//! documented order (docs/api.md#order-of-checks): 401 → 403 → 422 → 404.
//!
//! Inputs are declared once, as serde types ([`Input`], in `super::tasks`): what a handler
//! parses is what the OpenAPI document describes. FastAPI reports every problem of an input at
//! once and serde stops at the first, so [`read`] reads an input again after each refused field,
//! with a placeholder in that field, until the deserializer accepts it; the domain's rules then
//! run on the fields it accepted. Each refusal is reported where `serde_path_to_error` found it,
//! in pydantic's words ([`pydantic`]).

use std::collections::HashMap;
use std::convert::Infallible;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, OriginalUri, Request};
use axum::http::header::{CONTENT_TYPE, IF_MATCH, IF_NONE_MATCH};
use axum::http::request::Parts;
use percent_encoding::percent_decode_str;
use sea_orm::DatabaseConnection;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::IDEMPOTENCY_KEY;
use super::errors::RestError;
use crate::app::AppState;
use crate::auth::{AuthUser, RequestMeta, access_denied};
use crate::domain::{FieldError, IdempotencyKey, LocPart, Owner, Precondition, none_match_names};
use crate::error::AppError;
use crate::service;
use crate::service::tasks::CreatesInFlight;

/// The caller, checked against the `{user_id}` of the path (403 on a mismatch) and provisioned,
/// with the database it may use: the only way a REST handler reaches the database, and only
/// once the schema is confirmed (503 until then).
pub struct OwnerScope {
    pub owner: Owner,
    pub db: DatabaseConnection,
    /// This process's idempotent creates in progress.
    pub creates_in_flight: CreatesInFlight,
    task_id: Option<String>,
}

impl OwnerScope {
    /// The `{task_id}` path segment, as sent (a malformed one is a 404 in the service).
    pub fn task_id(&self) -> &str {
        self.task_id.as_deref().unwrap_or_default()
    }
}

impl FromRequestParts<AppState> for OwnerScope {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = AuthUser::from_request_parts(parts, state).await?;
        let mut params = path_params(parts);
        match params.remove("user_id").unwrap_or(Ok(String::new())) {
            Ok(path_user_id) if path_user_id == caller.owner.id() => {}
            Ok(path_user_id) | Err(path_user_id) => {
                let meta = RequestMeta::from_parts(parts, &state.auth.trusted_proxies);
                access_denied(&meta, caller.owner.id(), &path_user_id);
                return Err(AppError::Forbidden.into());
            }
        }
        let db = state.database()?;
        service::users::ensure_exists(db, &state.known_users, &caller.owner, &caller.profile).await?;
        Ok(Self {
            owner: caller.owner,
            db: db.clone(),
            creates_in_flight: state.creates_in_flight.clone(),
            // One that is not UTF-8 is malformed: a 404, like any other malformed id.
            task_id: params.remove("task_id").and_then(Result::ok),
        })
    }
}

/// The `{name}` segments of the request path, percent-decoded. One that is not UTF-8 once
/// decoded (`/api/%FF/tasks`) is an `Err` carrying a lossy rendering: it cannot be anyone's
/// user id (403) nor a task id (404). axum's `Path` would refuse the whole request instead, so
/// the documented order of checks could not be kept.
fn path_params(parts: &Parts) -> HashMap<&'static str, Result<String, String>> {
    let Some(template) = parts.extensions.get::<MatchedPath>() else {
        return HashMap::new();
    };
    let path = parts
        .extensions
        .get::<OriginalUri>()
        .map_or_else(|| parts.uri.path(), |original| original.0.path());
    template
        .as_str()
        .split('/')
        .zip(path.split('/'))
        .filter_map(|(name, raw)| {
            let name = match name {
                "{user_id}" => "user_id",
                "{task_id}" => "task_id",
                _ => return None,
            };
            let value = percent_decode_str(raw)
                .decode_utf8()
                .map(|text| text.into_owned())
                .map_err(|_| percent_decode_str(raw).decode_utf8_lossy().into_owned());
            Some((name, value))
        })
        .collect()
}

/// A request input, declared once as a serde type: the handler's extractor deserializes it, the
/// OpenAPI document describes it, and [`Input::validate`] turns it into what the service takes.
///
/// `Default` serves as the placeholder of a refused field (its serialized value must
/// deserialize again; a unit test per input checks that), so the rest of the input can still be
/// read and checked.
pub trait Input: DeserializeOwned + Serialize + Default {
    /// What the service takes.
    type Valid;

    /// The query parameters that may be repeated, each read as the array of all its values
    /// (`?tag=a&tag=b`); for any other, the last value counts.
    const REPEATABLE: &'static [&'static str] = &[];

    /// Applies the domain's rules. Every field goes through [`Checks::field`], in declaration
    /// order, which is the order problems are reported in.
    fn validate(self, checks: &mut Checks) -> Option<Self::Valid>;
}

/// The problems found with an input so far: the fields the deserializer refused (not yet
/// placed), then everything in the order [`Input::validate`] checked the fields.
pub struct Checks {
    part: &'static str,
    refused: Vec<(String, FieldError)>,
    found: Vec<FieldError>,
}

impl Checks {
    /// The value of the field `name` once `rule` holds. `None` if the deserializer refused the
    /// field (its value is then a placeholder and `rule` does not run) or `rule` fails; the
    /// problem is recorded either way.
    pub fn field<T>(&mut self, name: &str, rule: impl FnOnce() -> Result<T, FieldError>) -> Option<T> {
        self.field_all(name, || rule().map_err(|error| vec![error]))
    }

    /// As [`Checks::field`], for a rule that reports several problems at once (one per item of a
    /// list).
    pub fn field_all<T>(
        &mut self,
        name: &str,
        rule: impl FnOnce() -> Result<T, Vec<FieldError>>,
    ) -> Option<T> {
        if let Some(index) = self.refused.iter().position(|(field, _)| field == name) {
            let (_, refusal) = self.refused.remove(index);
            self.found.push(refusal);
            return None;
        }
        let part = self.part;
        rule()
            .map_err(|errors| {
                self.found
                    .extend(errors.into_iter().map(|error| error.within(part)));
            })
            .ok()
    }

    fn finish<T>(mut self, valid: Option<T>) -> Result<T, AppError> {
        self.found
            .extend(self.refused.into_iter().map(|(_, refusal)| refusal));
        match valid {
            Some(valid) if self.found.is_empty() => Ok(valid),
            _ if !self.found.is_empty() => Err(AppError::Validation(self.found)),
            _ => Err(AppError::Internal(anyhow::anyhow!(
                "an input was refused without a reason"
            ))),
        }
    }
}

/// Reads `T` from the fields of `object` (found in the request's `part`), every problem found.
fn read<T: Input>(object: Map<String, Value>, part: &'static str) -> Result<T::Valid, AppError> {
    let (typed, mut checks) = deserialize::<T>(object, part);
    let valid = typed.and_then(|typed| typed.validate(&mut checks));
    checks.finish(valid)
}

/// Deserializes `T`, collecting every field the deserializer refuses: a refused field takes its
/// value in `T::default()` (or is removed when that value is not serialized) and the object is
/// read again, so each round refuses a new field and the rounds are at most one per field.
fn deserialize<T: Input>(object: Map<String, Value>, part: &'static str) -> (Option<T>, Checks) {
    let mut checks = Checks {
        part,
        refused: Vec::new(),
        found: Vec::new(),
    };
    let mut object = Value::Object(object);
    let mut placeholder = None;
    loop {
        let error = match serde_path_to_error::deserialize::<_, T>(&object) {
            Ok(typed) => return (Some(typed), checks),
            Err(error) => error,
        };
        let (field, inner, kind, message) = pydantic(&error);
        if checks.refused.iter().any(|(refused, _)| *refused == field) {
            // The placeholder was refused too: a bug in `T`'s `Default`, reported as what it is.
            tracing::error!(field, "the placeholder of an input field was refused");
            return (None, checks);
        }
        let placeholder = placeholder.get_or_insert_with(|| match serde_json::to_value(T::default()) {
            Ok(Value::Object(fields)) => fields,
            _ => Map::new(),
        });
        if let Value::Object(fields) = &mut object {
            match placeholder.get(&field) {
                Some(value) => fields.insert(field.clone(), value.clone()),
                None => fields.remove(&field),
            };
        }
        let mut loc = vec![part.into(), field.clone().into()];
        loc.extend(inner);
        checks.refused.push((field, FieldError::at(loc, kind, message)));
    }
}

/// Nothing where something is required: a body, or a field of it.
pub fn missing(loc: Vec<LocPart>) -> FieldError {
    FieldError::at(loc, "missing", "Field required")
}

const STRING_TYPE: &str = "Input should be a valid string";
const BOOL_TYPE: &str = "Input should be a valid boolean";
const LIST_TYPE: &str = "Input should be a valid list";
const INT_PARSING: &str = "Input should be a valid integer, unable to parse string as an integer";
const GREATER_THAN_EQUAL: &str = "Input should be greater than or equal to";
const LESS_THAN_EQUAL: &str = "Input should be less than or equal to";

/// The field a deserializer's refusal is about, where inside it (`[1]` for the second item of a
/// list), and pydantic's type and message for it. serde's errors are text: these are the texts
/// of the standard visitors (`a string`, `a boolean`, an unknown unit variant, a missing field)
/// and of [`Bounded`], each pinned by a unit test.
fn pydantic(
    error: &serde_path_to_error::Error<serde_json::Error>,
) -> (String, Vec<LocPart>, &'static str, String) {
    use serde_path_to_error::Segment;
    let text = error.inner().to_string();
    let mut path = error.path().iter();
    let field = match path.next() {
        Some(Segment::Map { key }) => key.clone(),
        // A missing field is reported on the object itself: "missing field `title`".
        _ => text.split('`').nth(1).unwrap_or_default().to_owned(),
    };
    let inner = path
        .filter_map(|segment| match segment {
            Segment::Seq { index } => Some(LocPart::from(*index)),
            Segment::Map { key } => Some(LocPart::from(key.clone())),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect();
    let (kind, message) = if text.starts_with("missing field `") {
        let required = missing(Vec::new());
        (required.kind, required.message)
    } else if text.ends_with("expected a string") {
        ("string_type", STRING_TYPE.to_owned())
    } else if text.ends_with("expected a boolean") {
        ("bool_type", BOOL_TYPE.to_owned())
    } else if text.ends_with("expected a sequence") {
        ("list_type", LIST_TYPE.to_owned())
    } else if let Some((_, expected)) = text
        .strip_prefix("unknown variant `")
        .and_then(|rest| rest.rsplit_once(", expected "))
    {
        // "one of `a`, `b`, `c`" or "`a` or `b`": the names are between backquotes.
        let choices: Vec<String> = expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(|name| format!("'{name}'"))
            .collect();
        ("enum", format!("Input should be one of {}", choices.join(", ")))
    } else if text == INT_PARSING {
        ("int_parsing", text)
    } else if text.starts_with(GREATER_THAN_EQUAL) {
        ("greater_than_equal", text)
    } else if text.starts_with(LESS_THAN_EQUAL) {
        ("less_than_equal", text)
    } else {
        ("value_error", format!("Value error, {text}"))
    };
    (field, inner, kind, message)
}

/// For a field that may be absent, null or a value, each meaning something else (an update's
/// `description`): present, it is deserialized as `T` (so `null` is `Some(None)` for an
/// `Option`, and a refusal for anything else); absent, `#[serde(default)]` makes it `None`.
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(value: D) -> Result<Option<T>, D::Error> {
    T::deserialize(value).map(Some)
}

/// An integer query parameter in `MIN..=MAX`, `DEFAULT` when absent, read from its text as
/// FastAPI does (surrounding whitespace and a `+` sign allowed). The bounds and the default are
/// in the type, so the check and the document cannot differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Bounded<const MIN: i64, const MAX: i64, const DEFAULT: i64>(i64);

impl<const MIN: i64, const MAX: i64, const DEFAULT: i64> Bounded<MIN, MAX, DEFAULT> {
    /// The number, in `MIN..=MAX`.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl<const MIN: i64, const MAX: i64, const DEFAULT: i64> Default for Bounded<MIN, MAX, DEFAULT> {
    fn default() -> Self {
        Self(DEFAULT)
    }
}

impl<'de, const MIN: i64, const MAX: i64, const DEFAULT: i64> Deserialize<'de>
    for Bounded<MIN, MAX, DEFAULT>
{
    fn deserialize<D: Deserializer<'de>>(value: D) -> Result<Self, D::Error> {
        let text = String::deserialize(value)?;
        let number: i128 = text.trim().parse().map_err(|_| D::Error::custom(INT_PARSING))?;
        if number < i128::from(MIN) {
            return Err(D::Error::custom(format!("{GREATER_THAN_EQUAL} {MIN}")));
        }
        i64::try_from(number)
            .ok()
            .filter(|number| *number <= MAX)
            .map(Self)
            .ok_or_else(|| D::Error::custom(format!("{LESS_THAN_EQUAL} {MAX}")))
    }
}

impl<const MIN: i64, const MAX: i64, const DEFAULT: i64> utoipa::PartialSchema
    for Bounded<MIN, MAX, DEFAULT>
{
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .default(Some(DEFAULT.into()))
            .minimum(Some(MIN))
            .maximum(Some(MAX))
            .into()
    }
}

impl<const MIN: i64, const MAX: i64, const DEFAULT: i64> utoipa::ToSchema for Bounded<MIN, MAX, DEFAULT> {}

/// A JSON object body read as `T`, then validated: a [`NewTask`](crate::domain::NewTask) for
/// `JsonBody<CreateTaskBody>`. No `Content-Type` is read as JSON (as FastAPI does); another media
/// type, malformed JSON or a non-object is a 422; a body over the limit is a 413.
pub struct JsonBody<T: Input>(pub T::Valid);

fn body_issue(kind: &'static str, message: impl Into<String>) -> RestError {
    AppError::invalid(FieldError::at(vec!["body".into()], kind, message)).into()
}

impl<S: Send + Sync, T: Input> FromRequest<S> for JsonBody<T> {
    type Rejection = RestError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(content_type) = request.headers().get(CONTENT_TYPE) {
            let media_type = content_type
                .to_str()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            let is_json = media_type == "application/json"
                || (media_type.starts_with("application/") && media_type.ends_with("+json"));
            if !is_json {
                return Err(body_issue(
                    "content_type",
                    "Unsupported Content-Type: the body must be application/json",
                ));
            }
        }
        let bytes = Bytes::from_request(request, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(AppError::invalid(missing(vec!["body".into()])).into());
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(object)) => Ok(Self(read::<T>(object, "body")?)),
            Ok(_) => Err(body_issue(
                "model_attributes_type",
                "Input should be a valid dictionary or object to extract fields from",
            )),
            Err(error) => Err(AppError::invalid(FieldError::at(
                vec!["body".into(), error.column().into()],
                "json_invalid",
                format!("JSON decode error: {error}"),
            ))
            .into()),
        }
    }
}

/// A query string read as `T`, then validated. For a repeated parameter the last value counts,
/// unless `T` names it in [`Input::REPEATABLE`]; parameters `T` does not name are ignored.
pub struct QueryParams<T: Input>(pub T::Valid);

impl<S: Send + Sync, T: Input> FromRequestParts<S> for QueryParams<T> {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or_default();
        let mut params = Map::new();
        for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
            let value = Value::String(value.into_owned());
            if T::REPEATABLE.contains(&name.as_ref()) {
                let values = params
                    .entry(name.into_owned())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(values) = values {
                    values.push(value);
                }
            } else {
                params.insert(name.into_owned(), value);
            }
        }
        Ok(Self(read::<T>(params, "query")?))
    }
}

/// `If-Match`: the versions a change requires (absent: any). Never refused: a value that names
/// no version of the task matches nothing, so the change is a 412 (or a 404 first).
pub struct IfMatch(pub Precondition);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let values = parts.headers.get_all(IF_MATCH);
        if values.iter().next().is_none() {
            return Ok(Self(Precondition::Any));
        }
        Ok(Self(Precondition::if_match(
            values.iter().filter_map(|value| value.to_str().ok()),
        )))
    }
}

/// `If-None-Match`: the entity tags a client already holds (none when absent).
pub struct IfNoneMatch(pub Vec<String>);

impl IfNoneMatch {
    /// Whether the client holds `version` already (answer 304).
    pub fn holds(&self, version: i32) -> bool {
        let values: Vec<&str> = self.0.iter().map(String::as_str).collect();
        none_match_names(&values, version)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfNoneMatch {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let values = parts.headers.get_all(IF_NONE_MATCH).iter();
        Ok(Self(
            values
                .filter_map(|value| value.to_str().ok().map(str::to_owned))
                .collect(),
        ))
    }
}

/// `Idempotency-Key`, when sent: one value of 1 to 255 printable ASCII characters, else a 422
/// at `["header", "idempotency-key"]`.
pub struct IdempotencyKeyHeader(pub Option<IdempotencyKey>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKeyHeader {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let loc = || vec![LocPart::from("header"), LocPart::from(IDEMPOTENCY_KEY)];
        let mut values = parts.headers.get_all(IDEMPOTENCY_KEY).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return match parts.headers.contains_key(IDEMPOTENCY_KEY) {
                false => Ok(Self(None)),
                true => Err(AppError::invalid(FieldError::at(
                    loc(),
                    "value_error",
                    "Value error, send one Idempotency-Key header, not several",
                ))
                .into()),
            };
        };
        // A value with bytes outside visible ASCII is refused by the key's own rule.
        let text = String::from_utf8_lossy(value.as_bytes());
        Ok(Self(Some(
            IdempotencyKey::parse(&text, loc()).map_err(AppError::invalid)?,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field of each kind the inputs use.
    #[derive(Debug, Default, Deserialize, Serialize)]
    struct Sample {
        name: String,
        #[serde(default)]
        flag: bool,
        #[serde(default)]
        pick: Option<Pick>,
        #[serde(default)]
        pair: Option<Pair>,
        #[serde(default)]
        count: Option<Bounded<1, 10, 5>>,
        #[serde(default)]
        small: Option<u8>,
    }

    #[derive(Debug, Deserialize, Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Pick {
        One,
        Two,
        Three,
    }

    #[derive(Debug, Deserialize, Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Pair {
        Yes,
        No,
    }

    impl Input for Sample {
        type Valid = (String, Option<i64>);

        fn validate(self, checks: &mut Checks) -> Option<Self::Valid> {
            let name = checks.field("name", || {
                if self.name == "bad" {
                    Err(FieldError::new("name", "value_error", "Value error, bad name"))
                } else {
                    Ok(self.name)
                }
            });
            let flag = checks.field("flag", || Ok(self.flag));
            let pick = checks.field("pick", || Ok(self.pick));
            let pair = checks.field("pair", || Ok(self.pair));
            let count = checks.field("count", || Ok(self.count));
            let small = checks.field("small", || Ok(self.small));
            let _ = (flag?, pick?, pair?, small?);
            Some((name?, count?.map(Bounded::get)))
        }
    }

    fn problems(input: Value, part: &'static str) -> Vec<(String, &'static str, String)> {
        let Value::Object(object) = input else {
            panic!("an object")
        };
        match read::<Sample>(object, part) {
            Err(AppError::Validation(errors)) => errors
                .into_iter()
                .map(|error| (error.field(), error.kind, error.message))
                .collect(),
            other => panic!("a validation error, not {other:?}"),
        }
    }

    fn problem(field: &str, kind: &'static str, message: &str) -> (String, &'static str, String) {
        (field.to_owned(), kind, message.to_owned())
    }

    #[test]
    fn every_refused_field_is_reported_in_pydantic_terms_in_field_order() {
        let found = problems(
            serde_json::json!({
                "count": "0", "pair": "maybe", "pick": "four", "flag": "yes", "small": 300
            }),
            "body",
        );
        assert_eq!(
            found,
            [
                problem("body.name", "missing", "Field required"),
                problem("body.flag", "bool_type", BOOL_TYPE),
                problem(
                    "body.pick",
                    "enum",
                    "Input should be one of 'one', 'two', 'three'"
                ),
                problem("body.pair", "enum", "Input should be one of 'yes', 'no'"),
                problem(
                    "body.count",
                    "greater_than_equal",
                    "Input should be greater than or equal to 1"
                ),
                // A kind of refusal without a pydantic name is still the client's mistake.
                problem(
                    "body.small",
                    "value_error",
                    "Value error, invalid value: integer `300`, expected u8",
                ),
            ]
        );
    }

    #[test]
    fn a_domain_rule_runs_on_the_fields_the_deserializer_accepted() {
        let found = problems(serde_json::json!({"name": "bad", "flag": 1}), "query");
        assert_eq!(
            found,
            [
                problem("query.name", "value_error", "Value error, bad name"),
                problem("query.flag", "bool_type", BOOL_TYPE),
            ]
        );
        let found = problems(serde_json::json!({"name": 5, "count": "11"}), "body");
        assert_eq!(
            found,
            [
                problem("body.name", "string_type", STRING_TYPE),
                problem(
                    "body.count",
                    "less_than_equal",
                    "Input should be less than or equal to 10"
                ),
            ]
        );
    }

    #[test]
    fn a_client_value_that_looks_like_serde_text_does_not_confuse_the_choices() {
        let found = problems(
            serde_json::json!({"name": "n", "pick": "x`, expected `nothing"}),
            "query",
        );
        assert_eq!(
            found,
            [problem(
                "query.pick",
                "enum",
                "Input should be one of 'one', 'two', 'three'"
            )]
        );
    }

    #[test]
    fn a_bounded_integer_is_read_from_text_as_fastapi_reads_it() {
        let read = |text: &str| {
            Bounded::<0, { i64::MAX }, 0>::deserialize(Value::String(text.to_owned()))
                .map(Bounded::get)
                .map_err(|error| error.to_string())
        };
        assert_eq!(read(" +42 "), Ok(42));
        assert_eq!(read("9223372036854775807"), Ok(i64::MAX));
        assert_eq!(
            read("9223372036854775808"),
            Err(format!("{LESS_THAN_EQUAL} {}", i64::MAX))
        );
        assert_eq!(
            read("-99999999999999999999"),
            Err(format!("{GREATER_THAN_EQUAL} 0"))
        );
        for not_an_integer in ["", "1.0", "1e3", "ten", &"9".repeat(40)] {
            assert_eq!(
                read(not_an_integer),
                Err(INT_PARSING.to_owned()),
                "{not_an_integer}"
            );
        }
        assert_eq!(Bounded::<1, 1000, 100>::default().get(), 100);
    }

    #[test]
    fn an_accepted_input_is_the_validated_value() {
        let Value::Object(object) = serde_json::json!({"name": "ok", "count": "7", "other": [1]}) else {
            panic!("an object")
        };
        assert!(matches!(
            read::<Sample>(object, "body"),
            Ok((name, Some(7))) if name == "ok"
        ));
    }
}
