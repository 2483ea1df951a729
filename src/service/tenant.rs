//! Where the database itself confines a service operation to its owner's rows.
//!
//! Every statement of the service layer names its owner (`… WHERE user_id = $owner`). On
//! PostgreSQL the tables holding user rows also have row-level security, enabled and forced,
//! whose policies admit only the rows of the user named by the transaction's `app.user_id`
//! (migration `m20261204_140000_enable_row_level_security`): a statement that forgot its owner
//! filter still reads and writes only the caller's rows, and one run outside a scope sees none.
//! Each operation therefore runs in a transaction that starts by naming its owner: `BEGIN`, then
//! `SELECT set_config('app.user_id', $owner, true)` (`true`: for this transaction only, so a
//! pooled connection never carries one caller's setting into another's request).
//!
//! That costs two round trips per operation, not one per statement, plus a `COMMIT` for a write
//! that used to be one statement. A read needs no `COMMIT`: its transaction ends with the
//! `ROLLBACK` sqlx queues when it is dropped, which travels with the ping sqlx already sends when
//! a connection goes back to the pool. SQLite has no row-level security: there a scope is the
//! pool itself and an operation costs what it always did.

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult,
    Statement, TransactionTrait,
};

use crate::domain::Owner;

/// The statement that names a PostgreSQL transaction's owner for the row-level security policies.
pub(crate) const NAME_THE_OWNER: &str = "SELECT set_config('app.user_id', $1, true)";

/// A connection for one owner's operation: see the module's documentation.
pub(crate) enum Scoped<'a> {
    /// SQLite: the pool, as before.
    Pool(&'a DatabaseConnection),
    /// PostgreSQL: a transaction whose `app.user_id` is the owner.
    Owned(DatabaseTransaction),
}

/// A scope for `owner`'s statements. Reads just use it; a write ends with [`Scoped::commit`]
/// (dropped without it, a PostgreSQL scope rolls back).
pub(crate) async fn scope<'a>(db: &'a DatabaseConnection, owner: &Owner) -> Result<Scoped<'a>, DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => Ok(Scoped::Owned(transaction(db, owner).await?)),
        _ => Ok(Scoped::Pool(db)),
    }
}

/// A transaction for `owner`'s statements that must be one change, on either database.
pub(crate) async fn transaction(
    db: &DatabaseConnection,
    owner: &Owner,
) -> Result<DatabaseTransaction, DbErr> {
    let txn = db.begin().await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            NAME_THE_OWNER,
            [owner.id().into()],
        ))
        .await?;
    }
    Ok(txn)
}

/// On PostgreSQL, logs a warning when the server's role passes row-level security (a superuser,
/// or `BYPASSRLS`): the policies then confine nothing, and only the owner filters stand.
pub(crate) async fn warn_if_the_role_passes_row_security(db: &DatabaseConnection) {
    if db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let passes = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT rolsuper OR rolbypassrls AS passes FROM pg_roles WHERE rolname = current_user",
        ))
        .await
        .ok()
        .flatten()
        .and_then(|row| row.try_get::<bool>("", "passes").ok());
    if passes == Some(true) {
        tracing::warn!(
            "the database role of DATABASE_URL is a superuser or has BYPASSRLS: row-level security \
             does not apply to it; serve with a role of its own (README: row-level security)"
        );
    }
}

impl Scoped<'_> {
    /// Makes the scope's writes durable (PostgreSQL's `COMMIT`; on SQLite each statement already
    /// was).
    pub(crate) async fn commit(self) -> Result<(), DbErr> {
        match self {
            Self::Pool(_) => Ok(()),
            Self::Owned(txn) => txn.commit().await,
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Scoped<'_> {
    fn get_database_backend(&self) -> DbBackend {
        match self {
            Self::Pool(db) => db.get_database_backend(),
            Self::Owned(txn) => txn.get_database_backend(),
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self {
            Self::Pool(db) => db.execute_raw(stmt).await,
            Self::Owned(txn) => txn.execute_raw(stmt).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self {
            Self::Pool(db) => db.execute_unprepared(sql).await,
            Self::Owned(txn) => txn.execute_unprepared(sql).await,
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self {
            Self::Pool(db) => db.query_one_raw(stmt).await,
            Self::Owned(txn) => txn.query_one_raw(stmt).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self {
            Self::Pool(db) => db.query_all_raw(stmt).await,
            Self::Owned(txn) => txn.query_all_raw(stmt).await,
        }
    }
}
