//! Black-box tests over HTTP against the real router, on SQLite, or on PostgreSQL when
//! `TEST_DATABASE_URL` is set.

mod helpers;
