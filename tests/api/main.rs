//! Black-box tests over HTTP against the real router, on SQLite, or on PostgreSQL when
//! `TEST_DATABASE_URL` is set.

mod answers_before_the_handler;
mod auth_jwks;
mod cli_dev_mode;
mod client_address;
mod graphql_auth;
mod graphql_helpers;
mod graphql_http;
mod graphql_limits;
mod graphql_pagination;
mod graphql_queries;
mod graphql_task_details;
mod graphql_tenancy;
mod helpers;
mod http_rules;
mod jwks_support;
mod migrations;
mod operations;
mod outages;
mod postgres_ops;
mod proxy;
mod repeating_tasks;
mod rest_auth;
mod rest_concurrency;
mod rest_crud;
mod rest_docs;
mod rest_input_refusals;
mod rest_isolation;
mod rest_listing;
mod rest_task_details;
mod rest_validation;
mod safe_writes;
mod safe_writes_migration;
mod security_events;
mod shutdown;
mod task_details_migration;
