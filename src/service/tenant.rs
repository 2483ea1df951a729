//! Where the database itself confines a service operation to its owner's rows.
//!
//! Every statement of the service layer names its owner (`… WHERE user_id = $owner`). On
//! PostgreSQL the tables holding user rows also have row-level security, enabled and forced,
//! whose policies admit only the rows of the user named by the transaction's `app.user_id`
//! (migration `m20261204_140000_enable_row_level_security`): a statement that forgot its owner
//! filter still reads and writes only the caller's rows, and one run outside a scope sees none.
//! Each operation therefore runs in a transaction that starts by naming its owner:
//! `BEGIN; SET LOCAL app.user_id = <owner>` (`LOCAL`: for this transaction only, so a pooled
//! connection never carries one caller's setting into another's request).
//!
//! Both statements travel in one message (PostgreSQL's simple query protocol takes several) and
//! cost one round trip, which sea-orm's transactions cannot do: their `BEGIN` is a round trip of
//! its own. So a PostgreSQL scope is an sqlx transaction begun with that pair ([`Scoped::Owned`]),
//! running sea-orm's statements itself. A read needs no `COMMIT`: its transaction ends with the
//! `ROLLBACK` sqlx queues when it is dropped, which travels with the ping sqlx already sends when
//! a connection goes back to the pool. A write ends with [`Scoped::commit`]. SQLite has no
//! row-level security: there a read's scope is the pool itself, and a write's is a sea-orm
//! transaction, as before.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};

use sea_orm::sea_query::Values;
use sea_orm::sqlx::postgres::{PgConnectOptions, PgPool};
use sea_orm::sqlx::{self, AssertSqlSafe, Postgres};
use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, RuntimeErr, Statement, TransactionTrait,
};
use sea_query_sqlx::SqlxValues;
use tokio::sync::Mutex;

use crate::domain::Owner;

/// The statements that open an owner's PostgreSQL transaction. `SET LOCAL` is what
/// `set_config(…, true)` does, without a query to plan; it takes no parameter, so the owner's id
/// (the token's `sub`: any text but control characters) goes in as an escaped string literal:
/// in an `E'…'` literal a doubled backslash and a doubled quote are the characters themselves,
/// whatever `standard_conforming_strings` says.
fn begin_for(owner: &Owner) -> String {
    let id = owner.id();
    let mut sql = String::with_capacity(40 + id.len());
    sql.push_str("BEGIN; SET LOCAL app.user_id = E'");
    for c in id.chars() {
        match c {
            '\\' => sql.push_str("\\\\"),
            '\'' => sql.push_str("''"),
            c => sql.push(c),
        }
    }
    sql.push('\'');
    sql
}

/// A connection for one owner's operation: see the module's documentation.
pub(crate) enum Scoped<'a> {
    /// SQLite, reading: the pool, as before.
    Pool(&'a DatabaseConnection),
    /// SQLite, writing: a transaction.
    Transaction(DatabaseTransaction),
    /// PostgreSQL: a transaction whose `app.user_id` is the owner.
    Owned(OwnerTransaction),
}

/// A PostgreSQL transaction opened for one owner (see the module's documentation).
pub(crate) struct OwnerTransaction {
    transaction: Mutex<sqlx::Transaction<'static, Postgres>>,
    /// The app's statement counter, when it has one ([`count_statements`]).
    statements: Option<Arc<AtomicU64>>,
}

/// A scope for `owner`'s reads (a write takes [`transaction`]).
pub(crate) async fn scope<'a>(db: &'a DatabaseConnection, owner: &Owner) -> Result<Scoped<'a>, DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => Ok(Scoped::Owned(OwnerTransaction::begin(db, owner).await?)),
        _ => Ok(Scoped::Pool(db)),
    }
}

/// A transaction for `owner`'s statements that must be one change, on either database. It ends
/// with [`Scoped::commit`]; dropped without it, it rolls back.
pub(crate) async fn transaction<'a>(db: &'a DatabaseConnection, owner: &Owner) -> Result<Scoped<'a>, DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => Ok(Scoped::Owned(OwnerTransaction::begin(db, owner).await?)),
        _ => Ok(Scoped::Transaction(db.begin().await?)),
    }
}

/// The statement counters of the apps of this process, by pool (see `app::StatementCounter`):
/// sea-orm's metric callback counts the statements it runs, and an [`OwnerTransaction`] runs
/// its statements itself, so it counts them here. One entry per app with a PostgreSQL pool.
static STATEMENT_COUNTERS: RwLock<Vec<(Weak<PgConnectOptions>, Arc<AtomicU64>)>> = RwLock::new(Vec::new());

/// Counts the statements that owner transactions on `db`'s pool run (not the one that opens
/// them) into `counter`, as sea-orm's metric callback counts the others.
pub(crate) fn count_statements(db: &DatabaseConnection, counter: Arc<AtomicU64>) {
    if db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let options = db.get_postgres_connection_pool().connect_options();
    let mut counters = STATEMENT_COUNTERS
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    counters.retain(|(pool, _)| pool.strong_count() > 0);
    counters.push((Arc::downgrade(&options), counter));
}

fn statement_counter(pool: &PgPool) -> Option<Arc<AtomicU64>> {
    let options = pool.connect_options();
    let counters = STATEMENT_COUNTERS
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    counters
        .iter()
        .find(|(pool, _)| std::ptr::eq(pool.as_ptr(), Arc::as_ptr(&options)))
        .map(|(_, counter)| counter.clone())
}

impl OwnerTransaction {
    async fn begin(db: &DatabaseConnection, owner: &Owner) -> Result<Self, DbErr> {
        let pool = db.get_postgres_connection_pool();
        let transaction = pool
            .begin_with(AssertSqlSafe(begin_for(owner)))
            .await
            .map_err(acquire_error)?;
        Ok(Self {
            transaction: Mutex::new(transaction),
            statements: statement_counter(pool),
        })
    }

    async fn commit(self) -> Result<(), DbErr> {
        self.transaction.into_inner().commit().await.map_err(exec_error)
    }

    /// sea-orm's statement as sqlx runs it (prepared and cached per connection, as sea-orm does).
    fn query(&self, stmt: Statement) -> sqlx::query::Query<'static, Postgres, SqlxValues> {
        if let Some(counter) = &self.statements {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        sqlx::query_with(
            AssertSqlSafe(stmt.sql),
            SqlxValues(stmt.values.unwrap_or_else(|| Values(Vec::new()))),
        )
    }
}

/// sea-orm's error for a failure to start: the pool's timeout stays a `ConnectionAcquire` (503).
fn acquire_error(error: sqlx::Error) -> DbErr {
    match error {
        sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        error => DbErr::Conn(RuntimeErr::SqlxError(Arc::new(error))),
    }
}

fn exec_error(error: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(Arc::new(error)))
}

fn query_error(error: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(error)))
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
    /// Makes the scope's writes durable (a transaction's `COMMIT`; on SQLite's pool each
    /// statement already was).
    pub(crate) async fn commit(self) -> Result<(), DbErr> {
        match self {
            Self::Pool(_) => Ok(()),
            Self::Transaction(txn) => txn.commit().await,
            Self::Owned(txn) => txn.commit().await,
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Scoped<'_> {
    fn get_database_backend(&self) -> DbBackend {
        match self {
            Self::Pool(db) => db.get_database_backend(),
            Self::Transaction(txn) => txn.get_database_backend(),
            Self::Owned(_) => DbBackend::Postgres,
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self {
            Self::Pool(db) => db.execute_raw(stmt).await,
            Self::Transaction(txn) => txn.execute_raw(stmt).await,
            Self::Owned(txn) => {
                let query = txn.query(stmt);
                let mut connection = txn.transaction.lock().await;
                query
                    .execute(&mut **connection)
                    .await
                    .map(ExecResult::from)
                    .map_err(exec_error)
            }
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self {
            Self::Pool(db) => db.execute_unprepared(sql).await,
            Self::Transaction(txn) => txn.execute_unprepared(sql).await,
            Self::Owned(txn) => {
                use sqlx::Executor;
                if let Some(counter) = &txn.statements {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                let mut connection = txn.transaction.lock().await;
                connection
                    .execute(sqlx::raw_sql(AssertSqlSafe(sql.to_owned())))
                    .await
                    .map(ExecResult::from)
                    .map_err(exec_error)
            }
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self {
            Self::Pool(db) => db.query_one_raw(stmt).await,
            Self::Transaction(txn) => txn.query_one_raw(stmt).await,
            Self::Owned(txn) => {
                let query = txn.query(stmt);
                let mut connection = txn.transaction.lock().await;
                query
                    .fetch_optional(&mut **connection)
                    .await
                    .map(|row| row.map(QueryResult::from))
                    .map_err(query_error)
            }
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self {
            Self::Pool(db) => db.query_all_raw(stmt).await,
            Self::Transaction(txn) => txn.query_all_raw(stmt).await,
            Self::Owned(txn) => {
                let query = txn.query(stmt);
                let mut connection = txn.transaction.lock().await;
                query
                    .fetch_all(&mut **connection)
                    .await
                    .map(|rows| rows.into_iter().map(QueryResult::from).collect())
                    .map_err(query_error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserId;

    #[test]
    fn the_owner_goes_into_the_set_as_an_escaped_literal() {
        let owner = |id: &str| Owner::verified(UserId::parse(id).expect("a user id"));
        assert_eq!(
            begin_for(&owner("user-1")),
            "BEGIN; SET LOCAL app.user_id = E'user-1'"
        );
        assert_eq!(
            begin_for(&owner(r"o'b\'; RESET ALL; --")),
            r"BEGIN; SET LOCAL app.user_id = E'o''b\\''; RESET ALL; --'"
        );
        assert_eq!(
            begin_for(&owner("ü 🙂\n")),
            "BEGIN; SET LOCAL app.user_id = E'ü 🙂\n'"
        );
    }
}
