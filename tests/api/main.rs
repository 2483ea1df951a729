//! Black-box tests over HTTP against the real router, on SQLite, or on PostgreSQL when
//! `TEST_DATABASE_URL` is set.

mod helpers;
mod http_rules;
mod migrations;
mod operations;
mod outages;
mod postgres_ops;
mod proxy;
mod rest_auth;
mod rest_concurrency;
mod rest_crud;
mod rest_isolation;
mod rest_listing;
mod rest_validation;
mod security_events;
mod shutdown;
