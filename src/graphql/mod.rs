//! The GraphQL front end (docs/api.md#graphql): an async-graphql schema over the same owner-scoped
//! services as REST, served at `/graphql` by a handler of our own (see [`handler`]) with the
//! offline GraphiQL playground beside it.

pub(crate) mod cursor;
mod documents;
mod error;
mod events;
mod handler;
pub(crate) mod limits;
mod loaders;
mod mutation;
mod pagination;
mod playground;
mod query;
mod scope;
mod socket;
mod subscription;
mod types;

pub(crate) use error::render;
pub(crate) use handler::router;
pub(crate) use scope::RequestScope;

use async_graphql::Schema;

use self::mutation::MutationRoot;
use self::query::QueryRoot;
use self::subscription::SubscriptionRoot;

/// The schema type served at `/graphql`.
pub(crate) type TodoSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Builds the schema with async-graphql's own limits; the handler applies the rest of
/// [`limits`] around every execution. Introspection still needs a valid token: nothing reaches
/// the schema before authentication.
pub(crate) fn schema(introspection: bool) -> TodoSchema {
    let builder = Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
        .limit_depth(limits::MAX_DEPTH)
        .limit_complexity(limits::MAX_COMPLEXITY)
        .limit_recursive_depth(limits::MAX_RECURSIVE_DEPTH)
        .limit_directives(limits::MAX_DIRECTIVES_PER_FIELD);
    if introspection {
        builder.finish()
    } else {
        builder.disable_introspection().finish()
    }
}

/// The schema in SDL, as `todo-api schema` prints it and `schema.graphql` holds it.
pub fn sdl() -> String {
    schema(true).sdl()
}
