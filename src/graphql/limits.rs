//! Bounds on what one document may ask for, checked before any resolver (and so any database
//! work) runs. Sized so that GraphiQL's introspection query passes (depth 15, about 230 fields).
//!
//! async-graphql checks depth, complexity, per-field directives and recursion itself, but its
//! checks walk fragments without memoising them, so a small document that spreads fragments
//! into fragments (a "fragment bomb") would make them run for exponential time; it also has no
//! alias limit. [`check`] therefore walks every document first, once per fragment, and refuses
//! oversized, alias-heavy or directive-heavy ones before async-graphql looks at them; the
//! handler calls it (through `documents`, which remembers documents that passed) before
//! executing, then [`code_errors`] on the response.

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet, VariableDefinition};
use async_graphql::parser::{self, Positioned};
use async_graphql::{ErrorExtensionValues, Request, ServerError};

use super::pagination::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// Deepest field nesting (GraphiQL's introspection query needs 15).
pub const MAX_DEPTH: usize = 16;
/// Largest complexity: one point per field, and a connection's selection counts once per task
/// it may return (`first`/`last`, default 20). A page of 100 tasks selecting every field
/// (edges and nodes, owner included) stays under it; two nested pages of 100 do not.
pub const MAX_COMPLEXITY: usize = 5_000;
/// Most fields a document may select once its fragments are spread out.
pub const MAX_FIELDS: usize = MAX_COMPLEXITY;
/// Most aliased fields in one document.
pub const MAX_ALIASES: usize = 30;
/// Most directives in one document, and on any one field.
pub const MAX_DIRECTIVES: usize = 50;
pub const MAX_DIRECTIVES_PER_FIELD: usize = 5;
/// Deepest nesting of selection sets and fragment spreads (async-graphql's default; guards the
/// stack of every recursive walk over the document).
pub const MAX_RECURSIVE_DEPTH: usize = 32;

/// `extensions.code` of a document refused before execution.
const PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
const VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";

/// Complexity of a connection field: its selection counts once per task the page may hold. The
/// arguments are read leniently: an unset variable means the default page size (async-graphql's
/// own `complexity = "first * child_complexity"` refuses such a document outright), and values
/// out of range are clamped (the resolver refuses them anyway).
///
/// Used as `#[graphql(complexity = "page_complexity(__ctx, __variables_definition, __field,
/// child_complexity)")]`: those are the parameters of the closure async-graphql's derive wraps
/// the expression in, reachable from it just as `child_complexity` is.
pub fn page_complexity(
    ctx: &async_graphql::VisitorContext<'_>,
    variables: &[Positioned<VariableDefinition>],
    field: &Field,
    child_complexity: usize,
) -> usize {
    sized_complexity(
        ctx,
        variables,
        field,
        child_complexity,
        (DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
    )
}

/// [`page_complexity`] for `Query.taskEvents`, whose pages are larger.
pub fn events_page_complexity(
    ctx: &async_graphql::VisitorContext<'_>,
    variables: &[Positioned<VariableDefinition>],
    field: &Field,
    child_complexity: usize,
) -> usize {
    use super::events::{DEFAULT_EVENTS_PAGE, MAX_EVENTS_PAGE};
    sized_complexity(
        ctx,
        variables,
        field,
        child_complexity,
        (DEFAULT_EVENTS_PAGE, MAX_EVENTS_PAGE),
    )
}

/// The complexity of a page of `(default, max)` size, as [`page_complexity`] describes.
fn sized_complexity(
    ctx: &async_graphql::VisitorContext<'_>,
    variables: &[Positioned<VariableDefinition>],
    field: &Field,
    child_complexity: usize,
    (default_size, max_size): (i32, i32),
) -> usize {
    let size = |name: &str| {
        ctx.param_value::<Option<i32>>(variables, field, name, None)
            .ok()
            .flatten()
    };
    let page = [size("first"), size("last")]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(default_size)
        .clamp(0, max_size);
    let page = usize::try_from(page).unwrap_or_default();
    page.saturating_mul(child_complexity).saturating_add(1)
}

/// Gives every error of an executed response that has no `extensions.code` the one a client can
/// act on. Without a path the error was found before execution (parsing limits, validation,
/// operation selection): `GRAPHQL_VALIDATION_FAILED`. With one, only async-graphql's own
/// `InputValueError`, raised while reading an argument it coerces only when resolving (an
/// `Int` literal or variable beyond 32 bits), is the client's: `GRAPHQL_VALIDATION_FAILED` too.
/// Every error of our resolvers carries its code already (see `error.rs`).
///
/// Done on the response rather than in a schema extension: any extension makes async-graphql
/// wrap every field's resolution in the extension chain, a visible share of the GraphQL list's
/// CPU in the profiles (BENCHMARKS.md, second round).
pub fn code_errors(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        if error.path.is_empty() || error.message.starts_with("Failed to parse \"") {
            set_code(error, VALIDATION_FAILED);
        }
    }
}

/// Parses the request's document (keeping it in the request, so it is parsed once) and refuses
/// it when it exceeds the limits of this module, or introspects when that is not allowed.
pub fn check(request: &mut Request, introspection: bool) -> Result<&ExecutableDocument, ServerError> {
    if request.parsed_query().is_err() {
        // Parse again for the structured error (async-graphql keeps only its text).
        let error = parser::parse_query(&request.query).err();
        return Err(error
            .map(syntax_error)
            .unwrap_or_else(|| with_code(ServerError::new("Syntax error", None), PARSE_FAILED)));
    }
    let document = request.parsed_query()?;
    let mut walk = Walk {
        document,
        fragments: HashMap::new(),
    };
    let mut total = Tally::default();
    for (_, operation) in document.operations.iter() {
        let directives = operation.node.directives.len()
            + operation
                .node
                .variable_definitions
                .iter()
                .map(|v| v.node.directives.len())
                .sum::<usize>();
        total = total
            .plus(Tally {
                directives,
                ..Tally::default()
            })
            .plus(walk.selection_set(&operation.node.selection_set.node, 1)?);
    }
    let refuse = |message: String| Err(with_code(ServerError::new(message, None), VALIDATION_FAILED));
    if total.fields > MAX_FIELDS {
        return refuse(format!(
            "Query selects too many fields once fragments are spread: at most {MAX_FIELDS}"
        ));
    }
    if total.aliases > MAX_ALIASES {
        return refuse(format!(
            "Query has {} aliased fields: at most {MAX_ALIASES} are allowed",
            total.aliases
        ));
    }
    if total.introspection > 0 && !introspection {
        return refuse("Introspection is disabled on this server".to_owned());
    }
    if total.directives > MAX_DIRECTIVES {
        return refuse(format!(
            "Query has {} directives: at most {MAX_DIRECTIVES} are allowed",
            total.directives
        ));
    }
    Ok(document)
}

/// A parse error without the source excerpt the parser quotes: that would echo up to 64 KiB of
/// the client's own document back.
fn syntax_error(error: parser::Error) -> ServerError {
    let locations = error.positions().collect();
    let detail = match &error {
        parser::Error::Syntax { message, .. } => message
            .lines()
            .map(str::trim)
            .rfind(|line| !line.is_empty())
            .map(|line| line.trim_start_matches("= ").to_owned()),
        _ => None,
    }
    .unwrap_or_else(|| error.to_string());
    let mut error = with_code(
        ServerError::new(format!("Syntax error: {detail}"), None),
        PARSE_FAILED,
    );
    error.locations = locations;
    error
}

pub(super) fn with_code(mut error: ServerError, code: &'static str) -> ServerError {
    set_code(&mut error, code);
    error
}

/// Sets `extensions.code` unless the error has one.
fn set_code(error: &mut ServerError, code: &'static str) {
    let extensions = error.extensions.get_or_insert_with(ErrorExtensionValues::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
}

/// What a selection set asks for once its fragments are spread out (saturating).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tally {
    fields: usize,
    aliases: usize,
    directives: usize,
    /// `__schema` and `__type` fields.
    introspection: usize,
}

impl Tally {
    fn plus(self, other: Self) -> Self {
        Self {
            fields: self.fields.saturating_add(other.fields),
            aliases: self.aliases.saturating_add(other.aliases),
            directives: self.directives.saturating_add(other.directives),
            introspection: self.introspection.saturating_add(other.introspection),
        }
    }
}

/// A walk over a document that visits each fragment definition once (memoised), so its cost is
/// linear in the document's size however often fragments are spread.
struct Walk<'a> {
    document: &'a ExecutableDocument,
    /// `None` while a fragment is being walked: meeting it again is a cycle.
    fragments: HashMap<&'a str, Option<Tally>>,
}

impl<'a> Walk<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet, depth: usize) -> Result<Tally, ServerError> {
        if depth > MAX_RECURSIVE_DEPTH {
            return Err(with_code(
                ServerError::new(
                    format!(
                        "The recursion depth of the query cannot be greater than `{MAX_RECURSIVE_DEPTH}`"
                    ),
                    None,
                ),
                VALIDATION_FAILED,
            ));
        }
        let mut tally = Tally::default();
        for selection in &set.items {
            let directives = Tally {
                directives: selection.node.directives().len(),
                ..Tally::default()
            };
            tally = tally.plus(directives);
            let inner = match &selection.node {
                Selection::Field(field) => Tally {
                    fields: 1,
                    aliases: usize::from(field.node.alias.is_some()),
                    introspection: usize::from(matches!(
                        field.node.name.node.as_str(),
                        "__schema" | "__type"
                    )),
                    ..Tally::default()
                }
                .plus(self.selection_set(&field.node.selection_set.node, depth + 1)?),
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str(), depth + 1)?
                }
                Selection::InlineFragment(inline) => {
                    self.selection_set(&inline.node.selection_set.node, depth + 1)?
                }
            };
            tally = tally.plus(inner);
        }
        Ok(tally)
    }

    fn fragment(&mut self, name: &'a str, depth: usize) -> Result<Tally, ServerError> {
        match self.fragments.get(name) {
            Some(Some(tally)) => return Ok(*tally),
            Some(None) => {
                return Err(with_code(
                    ServerError::new(format!("Cannot spread fragment \"{name}\" within itself"), None),
                    VALIDATION_FAILED,
                ));
            }
            None => {}
        }
        // An unknown fragment selects nothing here; validation reports it.
        let Some(definition) = self.document.fragments.get(name) else {
            return Ok(Tally::default());
        };
        self.fragments.insert(name, None);
        let tally = Tally {
            directives: definition.node.directives.len(),
            ..Tally::default()
        }
        .plus(self.selection_set(&definition.node.selection_set.node, depth)?);
        self.fragments.insert(name, Some(tally));
        Ok(tally)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(query: &str) -> Result<(), String> {
        check(&mut Request::new(query), true)
            .map(|_| ())
            .map_err(|e| e.message)
    }

    #[test]
    fn thirty_aliases_pass_and_thirty_one_do_not() {
        let aliases = |n: usize| {
            let fields: Vec<String> = (0..n).map(|i| format!("a{i}: __typename")).collect();
            format!("{{ {} }}", fields.join(" "))
        };
        assert_eq!(checked(&aliases(30)), Ok(()));
        assert!(checked(&aliases(31)).is_err_and(|m| m.contains("31 aliased fields")));
    }

    #[test]
    fn aliases_count_once_per_spread_of_their_fragment() {
        let fields: Vec<String> = (0..10).map(|i| format!("a{i}: __typename")).collect();
        let query = format!(
            "{{ ...F ...F ...F ...F }} fragment F on Query {{ {} }}",
            fields.join(" ")
        );
        assert!(checked(&query).is_err_and(|m| m.contains("40 aliased fields")));
    }

    #[test]
    fn a_fragment_bomb_is_refused_without_expanding_it() {
        // 40 levels of fragments each spreading the next one twice: 2^40 fields once spread.
        let mut query = String::from("{ ...F0 }");
        for i in 0..40 {
            query.push_str(&format!(
                " fragment F{i} on Query {{ ...F{} ...F{} }}",
                i + 1,
                i + 1
            ));
        }
        query.push_str(" fragment F40 on Query { __typename }");
        let message = checked(&query).expect_err("refused");
        assert!(
            message.contains("too many fields") || message.contains("recursion depth"),
            "{message}"
        );
        // and the same shape, shallow but wide
        let mut wide = String::from("{ ...G0 }");
        for i in 0..12 {
            let spreads = format!("...G{} ", i + 1).repeat(8);
            wide.push_str(&format!(" fragment G{i} on Query {{ {spreads} }}"));
        }
        wide.push_str(" fragment G12 on Query { __typename }");
        assert!(checked(&wide).is_err_and(|m| m.contains("too many fields")));
    }

    #[test]
    fn fragment_cycles_are_refused() {
        let query = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
        assert!(checked(query).is_err_and(|m| m.contains("within itself")));
    }

    #[test]
    fn directives_are_counted_across_the_document() {
        let fields = |n: usize| {
            let fields: Vec<String> = (0..n)
                .map(|_| "__typename @skip(if: false) @include(if: true)".to_owned())
                .collect();
            format!("{{ {} }}", fields.join(" "))
        };
        assert_eq!(checked(&fields(25)), Ok(()));
        assert!(checked(&fields(26)).is_err_and(|m| m.contains("52 directives")));
    }

    #[test]
    fn introspection_can_be_refused_but_typename_stays() {
        let refused = |query: &str| {
            check(&mut Request::new(query), false)
                .map(|_| ())
                .map_err(|e| e.message)
        };
        assert!(refused("{ __schema { types { name } } }").is_err_and(|m| m.contains("Introspection")));
        assert!(refused("{ t: __type(name: \"Task\") { name } }").is_err());
        assert!(refused("{ ...F } fragment F on Query { __schema { queryType { name } } }").is_err());
        assert_eq!(refused("{ __typename }"), Ok(()));
        assert_eq!(checked("{ __schema { types { name } } }"), Ok(()));
    }

    #[test]
    fn a_parse_error_does_not_echo_the_document() {
        let query = format!("{{ {} ", "a ".repeat(5000));
        let message = checked(&query).expect_err("refused");
        assert!(message.starts_with("Syntax error"), "{message}");
        assert!(message.len() < 200, "{message}");
    }
}
