//! Business operations over the database. No HTTP or GraphQL here: `(db, owner, validated input)
//! -> Result<T, AppError>`, shared by the REST and GraphQL front ends.

pub mod tasks;
pub(crate) mod tenant;
pub mod users;
