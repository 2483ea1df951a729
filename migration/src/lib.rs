//! Schema history of todo-api. Every migration runs in a transaction on every backend
//! (`use_transaction`), so a failing migration leaves the schema and the data as they were.

// `MigrationTrait` is an `async_trait` whose methods take `&SchemaManager` with an elided
// lifetime; spelling it out (`<'_>`) no longer matches the trait, so the idiom lint is off here.
#![allow(elided_lifetimes_in_paths)]

pub use sea_orm_migration::prelude::*;

mod m20260118_100000_create_users;
mod m20260118_100100_create_tasks;
mod m20261204_120000_add_task_details;
mod m20261204_130000_add_versions_and_idempotency_keys;
mod m20261204_140000_enable_row_level_security;
mod m20261204_150000_create_task_events;

/// The migrations of todo-api, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260118_100000_create_users::Migration),
            Box::new(m20260118_100100_create_tasks::Migration),
            Box::new(m20261204_120000_add_task_details::Migration),
            Box::new(m20261204_130000_add_versions_and_idempotency_keys::Migration),
            Box::new(m20261204_140000_enable_row_level_security::Migration),
            Box::new(m20261204_150000_create_task_events::Migration),
        ]
    }
}
