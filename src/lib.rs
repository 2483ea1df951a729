//! todo-api: a secure, multi-tenant todo API. REST (the legacy contract) and GraphQL front ends
//! over one owner-scoped service layer, on SQLite or PostgreSQL.

pub mod app;
pub mod auth;
pub mod cli;
pub mod client_addr;
pub mod config;
pub mod db;
pub mod domain;
pub mod entity;
pub mod error;
pub mod graphql;
pub mod health;
pub mod limit;
pub mod middleware;
pub mod migrate;
pub mod prometheus;
pub mod rest;
pub mod routes;
pub mod service;
pub mod shutdown;
pub mod telemetry;
