//! Documents a client sends again and again, parsed and checked once, and Automatic Persisted
//! Queries.
//!
//! A frontend sends a handful of distinct documents, each thousands of times. Parsing one and
//! walking it for the limits of [`limits`] is a visible share of a small query's cost, so a
//! document that passed both is kept, keyed by its exact text, and a request bringing the same
//! text gets a copy of the parsed document instead (async-graphql then validates and runs it as
//! it would any). Only documents that passed are kept: a refused one is parsed again each time,
//! and gives the same refusal.
//!
//! Automatic Persisted Queries are Apollo's protocol (which Apollo Client and urql speak): the
//! client sends `extensions.persistedQuery = {"version": 1, "sha256Hash": H}` and no `query`;
//! when this process knows the document whose SHA-256 is `H` it runs it, otherwise it answers
//! the error `PERSISTED_QUERY_NOT_FOUND` and the client sends the request again with the document
//! and the hash, which registers it. Registered documents are kept in this process's memory
//! only, bounded: a replica that has not seen a hash (or dropped it) costs the client that one
//! round trip more, never a wrong answer, so nothing of it needs the database.

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, ServerError, Value};
use quick_cache::Weighter;
use quick_cache::sync::Cache;
use sha2::{Digest, Sha256};

use super::limits;

/// Most bytes of document text the parsed documents are kept for (each counted with an estimate
/// of its parsed form, see [`DocumentWeight`]).
const PARSED_CAPACITY_BYTES: u64 = 4 * 1024 * 1024;
/// Most bytes of persisted documents' text remembered.
const PERSISTED_CAPACITY_BYTES: u64 = 4 * 1024 * 1024;
/// A parsed document takes several times its text: positions, vectors and names for every token.
const PARSED_BYTES_PER_TEXT_BYTE: u64 = 16;
/// What an entry costs beside its document: the key and the map's own bookkeeping.
const ENTRY_OVERHEAD_BYTES: u64 = 128;

/// The `extensions` key of Apollo's protocol.
const PERSISTED_QUERY: &str = "persistedQuery";
/// The one version of the protocol there is.
const PERSISTED_QUERY_VERSION: i64 = 1;

/// `extensions.code` of a hash this process does not know: the client sends the document again.
pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
/// `extensions.code` of a `persistedQuery` extension that is not version 1 with a SHA-256, or
/// whose hash is not the document's.
pub const PERSISTED_QUERY_INVALID: &str = "PERSISTED_QUERY_INVALID";

/// The parsed documents and the persisted queries of one process.
pub struct Documents {
    parsed: Cache<String, ExecutableDocument, DocumentWeight>,
    persisted: Cache<[u8; 32], String, DocumentWeight>,
}

/// Weighs an entry by its document's text.
#[derive(Clone)]
struct DocumentWeight {
    bytes_per_text_byte: u64,
}

impl Weighter<String, ExecutableDocument> for DocumentWeight {
    fn weight(&self, text: &String, _: &ExecutableDocument) -> u64 {
        text_weight(text, self.bytes_per_text_byte)
    }
}

impl Weighter<[u8; 32], String> for DocumentWeight {
    fn weight(&self, _: &[u8; 32], text: &String) -> u64 {
        text_weight(text, self.bytes_per_text_byte)
    }
}

fn text_weight(text: &str, bytes_per_text_byte: u64) -> u64 {
    let len = u64::try_from(text.len()).unwrap_or(u64::MAX);
    len.saturating_mul(bytes_per_text_byte)
        .saturating_add(ENTRY_OVERHEAD_BYTES)
}

impl Default for Documents {
    fn default() -> Self {
        Self::with_capacity(PARSED_CAPACITY_BYTES, PERSISTED_CAPACITY_BYTES)
    }
}

impl Documents {
    fn with_capacity(parsed_bytes: u64, persisted_bytes: u64) -> Self {
        // The estimated item counts only size the maps' first allocation.
        let estimate = |bytes: u64| usize::try_from(bytes / 2048).unwrap_or(1024).max(16);
        Self {
            parsed: Cache::with_weighter(
                estimate(parsed_bytes),
                parsed_bytes,
                DocumentWeight {
                    bytes_per_text_byte: PARSED_BYTES_PER_TEXT_BYTE,
                },
            ),
            persisted: Cache::with_weighter(
                estimate(persisted_bytes),
                persisted_bytes,
                DocumentWeight {
                    bytes_per_text_byte: 1,
                },
            ),
        }
    }

    /// Makes `request` ready to execute: its document found from a persisted query's hash when
    /// it brings none, then parsed (or copied from an earlier identical one) and within the
    /// limits. The error is the request's whole answer.
    pub fn prepare(&self, request: &mut Request, introspection: bool) -> Result<(), ServerError> {
        let register = self.resolve_persisted(request)?;
        if let Some(document) = self.parsed.get(request.query.as_str()) {
            request.set_parsed_query(document);
        } else {
            let document = limits::check(request, introspection)?.clone();
            self.parsed.insert(request.query.clone(), document);
        }
        // Registered only once it passed: the registry holds nothing a request could not run.
        if let Some(hash) = register {
            self.persisted.insert(hash, request.query.clone());
        }
        Ok(())
    }

    /// Gives a request that brings only a persisted query's hash the document registered for it,
    /// when there is one, and changes nothing else: for `GET`, which must know the operation's
    /// type before authentication (a hash this process does not know is answered at
    /// [`prepare`](Self::prepare), after authentication).
    pub fn recall(&self, request: &mut Request) {
        if request.query.is_empty()
            && let Some(Ok(hash)) = request.extensions.0.get(PERSISTED_QUERY).map(persisted_hash)
            && let Some(query) = self.persisted.get(&hash)
        {
            request.query = query;
        }
    }

    /// Apollo's Automatic Persisted Queries (see the module's documentation): fills in the
    /// document of a known hash, or checks that a document sent with its hash is the one hashed.
    /// Returns the hash to register once the document passes, when it is not registered yet. A
    /// request without the extension is left as it is.
    fn resolve_persisted(&self, request: &mut Request) -> Result<Option<[u8; 32]>, ServerError> {
        let Some(extension) = request.extensions.0.get(PERSISTED_QUERY) else {
            return Ok(None);
        };
        let hash = persisted_hash(extension)?;
        if request.query.is_empty() {
            return match self.persisted.get(&hash) {
                Some(query) => {
                    request.query = query;
                    Ok(None)
                }
                None => Err(coded(
                    "PersistedQueryNotFound: send the request again with its query",
                    PERSISTED_QUERY_NOT_FOUND,
                )),
            };
        }
        let digest: [u8; 32] = Sha256::digest(request.query.as_bytes()).into();
        if digest != hash {
            return Err(coded(
                "persistedQuery.sha256Hash is not the SHA-256 of the query",
                PERSISTED_QUERY_INVALID,
            ));
        }
        Ok(self.persisted.get(&hash).is_none().then_some(hash))
    }
}

/// Whether the request uses Automatic Persisted Queries (and may then come without a document).
pub fn names_a_persisted_query(request: &Request) -> bool {
    request.extensions.0.contains_key(PERSISTED_QUERY)
}

/// The hash of a `persistedQuery` extension: version 1, `sha256Hash` 64 hex digits.
fn persisted_hash(extension: &Value) -> Result<[u8; 32], ServerError> {
    let invalid = |message: &str| coded(message, PERSISTED_QUERY_INVALID);
    let Value::Object(fields) = extension else {
        return Err(invalid("extensions.persistedQuery must be an object"));
    };
    let version = fields.get("version").and_then(|version| match version {
        Value::Number(number) => number.as_i64(),
        _ => None,
    });
    if version != Some(PERSISTED_QUERY_VERSION) {
        return Err(invalid("extensions.persistedQuery.version must be 1"));
    }
    let mut hash = [0_u8; 32];
    match fields.get("sha256Hash") {
        Some(Value::String(hex_digits)) if hex::decode_to_slice(hex_digits, &mut hash).is_ok() => Ok(hash),
        _ => Err(invalid(
            "extensions.persistedQuery.sha256Hash must be a SHA-256 in 64 hexadecimal digits",
        )),
    }
}

fn coded(message: &str, code: &'static str) -> ServerError {
    limits::with_code(ServerError::new(message, None), code)
}

#[cfg(test)]
mod tests {
    use async_graphql::{Name, Number};

    use super::*;

    const QUERY: &str = "{ me { id } }";

    fn sha256_hex(text: &str) -> String {
        hex::encode(Sha256::digest(text.as_bytes()))
    }

    fn with_persisted(query: &str, version: i64, hash: &str) -> Request {
        let mut request = Request::new(query);
        let mut extension = async_graphql::indexmap::IndexMap::new();
        extension.insert(Name::new("version"), Value::Number(Number::from(version)));
        extension.insert(Name::new("sha256Hash"), Value::String(hash.to_owned()));
        request
            .extensions
            .0
            .insert(PERSISTED_QUERY.to_owned(), Value::Object(extension));
        request
    }

    fn code(error: &ServerError) -> String {
        error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    #[test]
    fn a_known_document_is_copied_not_parsed_again() {
        let documents = Documents::default();
        let mut first = Request::new(QUERY);
        documents.prepare(&mut first, true).expect("first");
        assert_eq!(documents.parsed.len(), 1);
        let mut second = Request::new(QUERY);
        documents.prepare(&mut second, true).expect("second");
        assert_eq!(documents.parsed.len(), 1);
        let operation = second.parsed_query().expect("parsed").operations.iter().count();
        assert_eq!(operation, 1);
    }

    #[test]
    fn a_refused_document_is_not_kept_and_is_refused_again() {
        let documents = Documents::default();
        for _ in 0..2 {
            let mut request = Request::new("{ __schema { queryType { name } } }");
            let error = documents
                .prepare(&mut request, false)
                .expect_err("introspection is off");
            assert!(code(&error).contains("GRAPHQL_VALIDATION_FAILED"), "{error:?}");
        }
        assert_eq!(documents.parsed.len(), 0);
        let mut broken = Request::new("{ me {");
        assert!(documents.prepare(&mut broken, true).is_err());
        assert_eq!(documents.parsed.len(), 0);
    }

    #[test]
    fn the_parsed_documents_stay_within_their_bound() {
        let documents = Documents::with_capacity(64 * 1024, 1024);
        for i in 0..2_000 {
            let mut request = Request::new(format!("{{ me {{ id }} a{i}: me {{ id }} }}"));
            documents.prepare(&mut request, true).expect("valid");
        }
        assert!(documents.parsed.weight() <= 64 * 1024);
        assert!(documents.parsed.len() < 2_000);
    }

    #[test]
    fn a_hash_alone_runs_once_its_document_was_sent_with_it() {
        let documents = Documents::default();
        let hash = sha256_hex(QUERY);

        let mut unknown = with_persisted("", 1, &hash);
        let error = documents.prepare(&mut unknown, true).expect_err("not yet known");
        assert!(code(&error).contains(PERSISTED_QUERY_NOT_FOUND), "{error:?}");

        let mut register = with_persisted(QUERY, 1, &hash);
        documents.prepare(&mut register, true).expect("registers");

        let mut known = with_persisted("", 1, &hash.to_uppercase());
        documents.prepare(&mut known, true).expect("known now");
        assert_eq!(known.query, QUERY);
    }

    #[test]
    fn a_hash_that_is_not_the_documents_registers_nothing() {
        let documents = Documents::default();
        let other = sha256_hex("{ me { name } }");
        let mut lying = with_persisted(QUERY, 1, &other);
        let error = documents.prepare(&mut lying, true).expect_err("mismatch");
        assert!(code(&error).contains(PERSISTED_QUERY_INVALID), "{error:?}");
        let mut later = with_persisted("", 1, &other);
        let error = documents
            .prepare(&mut later, true)
            .expect_err("nothing registered");
        assert!(code(&error).contains(PERSISTED_QUERY_NOT_FOUND), "{error:?}");
    }

    #[test]
    fn a_refused_document_is_not_registered_under_its_hash() {
        let documents = Documents::default();
        let refused = "{ __schema { queryType { name } } }";
        let hash = sha256_hex(refused);
        let mut register = with_persisted(refused, 1, &hash);
        assert!(documents.prepare(&mut register, false).is_err());
        let mut later = with_persisted("", 1, &hash);
        let error = documents
            .prepare(&mut later, false)
            .expect_err("nothing registered");
        assert!(code(&error).contains(PERSISTED_QUERY_NOT_FOUND), "{error:?}");
    }

    #[test]
    fn only_version_one_with_a_sha256_is_understood() {
        let documents = Documents::default();
        let hash = sha256_hex(QUERY);
        for mut request in [
            with_persisted(QUERY, 2, &hash),
            with_persisted(QUERY, 1, "abc"),
            with_persisted(QUERY, 1, &format!("{}zz", &hash[..62])),
        ] {
            let error = documents.prepare(&mut request, true).expect_err("invalid");
            assert!(code(&error).contains(PERSISTED_QUERY_INVALID), "{error:?}");
        }
        let mut not_an_object = Request::new(QUERY);
        not_an_object
            .extensions
            .0
            .insert(PERSISTED_QUERY.to_owned(), Value::Boolean(true));
        assert!(documents.prepare(&mut not_an_object, true).is_err());
    }
}
