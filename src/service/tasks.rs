//! Task operations. Every one takes the verified [`Owner`] and starts from an owner-scoped
//! constructor of [`task::Entity`], so another user's task is indistinguishable from a missing
//! one.

use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    FromQueryResult, Order, PaginatorTrait, QueryFilter, QueryOrder, QueryResult, QuerySelect, QueryTrait,
    Select,
};
use uuid::Uuid;

use crate::domain::{
    NewTask, Owner, Priority, Repeat, SortDirection, SortField, StatusFilter, TaskFilter, TaskPatch,
    now_micros,
};
use crate::entity::task::{self, Column};
use crate::error::AppError;

/// A page by position, as the REST contract pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetPage {
    pub limit: u64,
    pub offset: u64,
}

/// Parses a task id; anything that is not a UUID names no task.
pub fn parse_task_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::try_parse(id).map_err(|_| AppError::NotFound)
}

pub async fn create(db: &DatabaseConnection, owner: &Owner, input: NewTask) -> Result<task::Model, AppError> {
    let now = now_micros();
    let model = task::Model {
        id: Uuid::now_v7(),
        user_id: owner.id().to_owned(),
        title: input.title.into_inner(),
        description: input.description.map(|d| d.into_inner()),
        completed: input.completed,
        priority: Priority::default().as_column(),
        due_at: None,
        repeat: Repeat::default().as_str().to_owned(),
        created_at: now,
        updated_at: now,
    };
    let row = task::ActiveModel {
        id: Set(model.id),
        user_id: Set(model.user_id.clone()),
        title: Set(model.title.clone()),
        description: Set(model.description.clone()),
        completed: Set(model.completed),
        priority: Set(model.priority),
        due_at: Set(model.due_at),
        repeat: Set(model.repeat.clone()),
        created_at: Set(model.created_at),
        updated_at: Set(model.updated_at),
    };
    // Every value is known here, so there is nothing to read back.
    task::Entity::insert(row).exec_without_returning(db).await?;
    Ok(model)
}

pub async fn get(db: &DatabaseConnection, owner: &Owner, id: &str) -> Result<task::Model, AppError> {
    find_owned(db, owner, parse_task_id(id)?).await
}

async fn find_owned(db: &DatabaseConnection, owner: &Owner, id: Uuid) -> Result<task::Model, AppError> {
    task::Entity::find_one_for_owner(owner, id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Applies the given fields only. An empty patch changes nothing, `updated_at` included.
pub async fn update(
    db: &DatabaseConnection,
    owner: &Owner,
    id: &str,
    patch: TaskPatch,
) -> Result<task::Model, AppError> {
    if patch.is_empty() {
        return get(db, owner, id).await;
    }
    let mut update = task::Entity::update_one_for_owner(owner, parse_task_id(id)?)
        .col_expr(Column::UpdatedAt, Expr::value(now_micros()));
    if let Some(title) = patch.title {
        update = update.col_expr(Column::Title, Expr::value(title.into_inner()));
    }
    if let Some(description) = patch.description {
        update = update.col_expr(
            Column::Description,
            Expr::value(description.map(|d| d.into_inner())),
        );
    }
    if let Some(completed) = patch.completed {
        update = update.col_expr(Column::Completed, Expr::value(completed));
    }
    single(update.exec_with_returning(db).await?)
}

/// Flips `completed` in one statement, so concurrent toggles never lose one another.
pub async fn toggle(db: &DatabaseConnection, owner: &Owner, id: &str) -> Result<task::Model, AppError> {
    let update = task::Entity::update_one_for_owner(owner, parse_task_id(id)?)
        .col_expr(Column::Completed, Expr::col(Column::Completed).not())
        .col_expr(Column::UpdatedAt, Expr::value(now_micros()));
    single(update.exec_with_returning(db).await?)
}

/// Sets `completed`; idempotent, so a retried call is harmless (`updated_at` moves only when the
/// value does).
pub async fn set_completed(
    db: &DatabaseConnection,
    owner: &Owner,
    id: &str,
    completed: bool,
) -> Result<task::Model, AppError> {
    let id = parse_task_id(id)?;
    let changed = task::Entity::update_one_for_owner(owner, id)
        .filter(Column::Completed.ne(completed))
        .col_expr(Column::Completed, Expr::value(completed))
        .col_expr(Column::UpdatedAt, Expr::value(now_micros()))
        .exec_with_returning(db)
        .await?;
    match changed.into_iter().next() {
        Some(task) => Ok(task),
        None => find_owned(db, owner, id).await,
    }
}

/// Deletes the task and returns its id.
pub async fn delete(db: &DatabaseConnection, owner: &Owner, id: &str) -> Result<Uuid, AppError> {
    let id = parse_task_id(id)?;
    let result = task::Entity::delete_one_for_owner(owner, id).exec(db).await?;
    if result.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    Ok(id)
}

/// One page of the owner's tasks matching `filter`, in the given order (ties broken by id).
pub async fn list(
    db: &DatabaseConnection,
    owner: &Owner,
    filter: &TaskFilter,
    sort: SortField,
    direction: SortDirection,
    page: OffsetPage,
) -> Result<Vec<task::Model>, AppError> {
    let order = sql_order(direction);
    Ok(filtered(db, owner, filter)
        .order_by(sort_column(sort), order.clone())
        .order_by(Column::Id, order)
        .limit(page.limit)
        .offset(page.offset)
        .all(db)
        .await?)
}

/// How many of the owner's tasks match `filter`.
pub async fn count(db: &DatabaseConnection, owner: &Owner, filter: &TaskFilter) -> Result<u64, AppError> {
    Ok(filtered(db, owner, filter).count(db).await?)
}

/// One page (as [`list`]) and how many tasks match before paging (as [`count`]), in one
/// statement: the count rides along as a scalar subquery, so a page costs one round trip and
/// one pooled connection instead of two. A page past the end has no row to carry the count:
/// only then is it asked for apart.
pub async fn list_with_total(
    db: &DatabaseConnection,
    owner: &Owner,
    filter: &TaskFilter,
    sort: SortField,
    direction: SortDirection,
    page: OffsetPage,
) -> Result<(u64, Vec<task::Model>), AppError> {
    let order = sql_order(direction);
    let total = filtered(db, owner, filter)
        .select_only()
        .column_as(Expr::from(Func::count(Expr::col(Column::Id))), "n")
        .into_query();
    let rows = filtered(db, owner, filter)
        .expr_as(Expr::SubQuery(None, Box::new(total.into())), Counted::TOTAL)
        .order_by(sort_column(sort), order.clone())
        .order_by(Column::Id, order)
        .limit(page.limit)
        .offset(page.offset)
        .into_model::<Counted>()
        .all(db)
        .await?;
    let total = match rows.first() {
        Some(first) => u64::try_from(first.total).unwrap_or_default(),
        None if page.offset == 0 => 0,
        None => count(db, owner, filter).await?,
    };
    Ok((total, rows.into_iter().map(|row| row.task).collect()))
}

/// A task row with the total of its page's query beside it.
struct Counted {
    task: task::Model,
    total: i64,
}

impl Counted {
    const TOTAL: &'static str = "total_count";
}

impl FromQueryResult for Counted {
    fn from_query_result(row: &QueryResult, prefix: &str) -> Result<Self, DbErr> {
        Ok(Self {
            task: task::Model::from_query_result(row, prefix)?,
            total: row.try_get(prefix, Self::TOTAL)?,
        })
    }
}

fn sql_order(direction: SortDirection) -> Order {
    match direction {
        SortDirection::Asc => Order::Asc,
        SortDirection::Desc => Order::Desc,
    }
}

fn sort_column(sort: SortField) -> Column {
    match sort {
        SortField::CreatedAt => Column::CreatedAt,
        SortField::UpdatedAt => Column::UpdatedAt,
        SortField::Title => Column::Title,
    }
}

fn filtered(db: &DatabaseConnection, owner: &Owner, filter: &TaskFilter) -> Select<task::Entity> {
    let mut query = task::Entity::find_for_owner(owner);
    match filter.status {
        StatusFilter::All => {}
        StatusFilter::Pending => query = query.filter(Column::Completed.eq(false)),
        StatusFilter::Completed => query = query.filter(Column::Completed.eq(true)),
    }
    if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(search_condition(db.get_database_backend(), search));
    }
    query
}

/// Title or description contains `search`, ignoring the case of ASCII letters only, with `%`,
/// `_` and `\` taken literally: the same answer on SQLite and PostgreSQL.
fn search_condition(backend: DbBackend, search: &str) -> Condition {
    let escaped = search
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let like = |column: Column| match backend {
        // SQLite's LIKE already ignores the case of ASCII letters, and only theirs.
        DbBackend::Sqlite => Expr::col(column).like(LikeExpr::new(format!("%{escaped}%")).escape('\\')),
        // PostgreSQL's ILIKE/LOWER would also fold non-ASCII letters; translate() folds A-Z only.
        _ => Expr::expr(Func::cust("translate").args([
            Expr::col(column),
            Expr::val("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
            Expr::val("abcdefghijklmnopqrstuvwxyz"),
        ]))
        .like(LikeExpr::new(format!("%{}%", escaped.to_ascii_lowercase())).escape('\\')),
    };
    Condition::any()
        .add(like(Column::Title))
        .add(like(Column::Description))
}

fn single(mut rows: Vec<task::Model>) -> Result<task::Model, AppError> {
    rows.pop().ok_or(AppError::NotFound)
}

/// How many tasks an owner has, and how many of them are completed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskCounts {
    pub total: u64,
    pub completed: u64,
}

impl TaskCounts {
    pub fn pending(self) -> u64 {
        self.total.saturating_sub(self.completed)
    }
}

/// Counts all of the owner's tasks and the completed ones, in one statement.
pub async fn counts(db: &DatabaseConnection, owner: &Owner) -> Result<TaskCounts, AppError> {
    let (total, completed) = task::Entity::find_for_owner(owner)
        .select_only()
        .column_as(Expr::from(Func::count(Expr::col(Column::Id))), "total")
        // COUNT skips the NULL of a CASE without ELSE: the completed rows only.
        .column_as(
            Expr::from(Func::count(Expr::case(Column::Completed.eq(true), 1))),
            "completed",
        )
        .into_tuple::<(i64, i64)>()
        .one(db)
        .await?
        .unwrap_or_default();
    Ok(TaskCounts {
        total: u64::try_from(total).unwrap_or_default(),
        completed: u64::try_from(completed).unwrap_or_default(),
    })
}

/// The value of a task's sort key, as a keyset cursor carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// `created_at` or `updated_at`.
    Time(chrono::DateTime<chrono::Utc>),
    /// `title`.
    Text(String),
}

/// A position in an ordered list of tasks: the sort key and id of one row. Rows are compared by
/// `(sort key, id)`, so every position is distinct even when sort keys tie.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keyset {
    pub key: SortKey,
    pub id: Uuid,
}

impl Keyset {
    /// The position of `task` in a list ordered by `sort`.
    pub fn of(task: &task::Model, sort: SortField) -> Self {
        let key = match sort {
            SortField::CreatedAt => SortKey::Time(task.created_at),
            SortField::UpdatedAt => SortKey::Time(task.updated_at),
            SortField::Title => SortKey::Text(task.title.clone()),
        };
        Self { key, id: task.id }
    }

    fn fits(&self, sort: SortField) -> bool {
        matches!(
            (&self.key, sort),
            (SortKey::Time(_), SortField::CreatedAt | SortField::UpdatedAt)
                | (SortKey::Text(_), SortField::Title)
        )
    }
}

/// Which end of the range between the cursors a keyset page is taken from, and how many rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageTake {
    First(u64),
    Last(u64),
}

/// A keyset page request: rows strictly after `after` and strictly before `before` (both in the
/// list's own order), the first or last `n` of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeysetRequest {
    pub sort: SortField,
    pub direction: SortDirection,
    pub after: Option<Keyset>,
    pub before: Option<Keyset>,
    pub take: PageTake,
    /// Whether to find out if rows lie on the cursor's side of the page (`has_previous_page`
    /// after `after`, `has_next_page` before `before`): a `LIMIT 1` probe. When false, that
    /// flag is reported false, as Relay allows.
    pub probe_outside: bool,
}

/// One keyset page, in the list's order, and whether rows exist beyond either end of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeysetPage {
    pub tasks: Vec<task::Model>,
    pub has_previous_page: bool,
    pub has_next_page: bool,
}

/// One page of the owner's tasks matching `filter`, by position rather than offset: a page stays
/// correct while rows are added or removed elsewhere in the list. `n + 1` rows are fetched to
/// learn whether more exist in the paging direction; the other direction costs one `LIMIT 1`
/// probe, and only when a cursor was given on that side and the caller asked.
pub async fn list_keyset(
    db: &DatabaseConnection,
    owner: &Owner,
    filter: &TaskFilter,
    request: &KeysetRequest,
) -> Result<KeysetPage, AppError> {
    let sort = request.sort;
    let cursors = request.after.iter().chain(&request.before);
    if let Some(misfit) = cursors.into_iter().find(|keyset| !keyset.fits(sort)) {
        return Err(AppError::Internal(anyhow::anyhow!(
            "keyset {misfit:?} does not fit the sort field {sort:?}"
        )));
    }
    let direction = request.direction;
    let mut query = filtered(db, owner, filter);
    if let Some(after) = &request.after {
        query = query.filter(beyond(sort, after, direction));
    }
    if let Some(before) = &request.before {
        query = query.filter(beyond(sort, before, reverse(direction)));
    }
    let (scan, limit) = match request.take {
        PageTake::First(n) => (direction, n),
        PageTake::Last(n) => (reverse(direction), n),
    };
    let order = sql_order(scan);
    let mut tasks = query
        .order_by(sort_column(sort), order.clone())
        .order_by(Column::Id, order)
        .limit(limit.saturating_add(1))
        .all(db)
        .await?;
    let more = tasks.len() as u64 > limit;
    tasks.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let (has_previous_page, has_next_page) = match request.take {
        PageTake::First(_) => {
            let earlier = match &request.after {
                Some(after) if request.probe_outside => {
                    any_outside(db, owner, filter, sort, after, direction).await?
                }
                _ => false,
            };
            (earlier, more)
        }
        PageTake::Last(_) => {
            tasks.reverse();
            let later = match &request.before {
                Some(before) if request.probe_outside => {
                    any_outside(db, owner, filter, sort, before, reverse(direction)).await?
                }
                _ => false,
            };
            (more, later)
        }
    };
    Ok(KeysetPage {
        tasks,
        has_previous_page,
        has_next_page,
    })
}

fn reverse(direction: SortDirection) -> SortDirection {
    match direction {
        SortDirection::Asc => SortDirection::Desc,
        SortDirection::Desc => SortDirection::Asc,
    }
}

/// Rows strictly beyond `anchor` when the list runs in `direction`:
/// `key >= k AND (key > k OR id > i)` (`<=`, `<` when descending). Spelled out rather than as
/// a row value comparison so that SQLite and PostgreSQL read it alike. The `key >= k` term is
/// implied by the other but is what both planners turn into the start of an index range on
/// `(user_id, key, id)`: without it, page 500 walked past the 9,980 rows before it
/// (BENCHMARKS.md).
fn beyond(sort: SortField, anchor: &Keyset, direction: SortDirection) -> Condition {
    from_anchor(sort, anchor, direction, AnchorRow::Excluded)
}

/// Rows at or before `anchor` when the list runs in `direction` (every row [`beyond`] leaves
/// out): the rows beyond it the other way, and the anchor row itself.
fn up_to(sort: SortField, anchor: &Keyset, direction: SortDirection) -> Condition {
    from_anchor(sort, anchor, reverse(direction), AnchorRow::Included)
}

/// Whether [`from_anchor`] keeps the row at the anchor itself.
#[derive(Clone, Copy)]
enum AnchorRow {
    Excluded,
    Included,
}

/// Rows from `anchor` on when the list runs in `direction`, in the index-range form [`beyond`]
/// describes; `id >= i` instead of `id > i` when the anchor row is included.
fn from_anchor(sort: SortField, anchor: &Keyset, direction: SortDirection, row: AnchorRow) -> Condition {
    let column = sort_column(sort);
    let key = anchor_key(anchor);
    let (key_bound, key_beyond) = match direction {
        SortDirection::Asc => (column.gte(key.clone()), column.gt(key)),
        SortDirection::Desc => (column.lte(key.clone()), column.lt(key)),
    };
    let id_onwards = match (direction, row) {
        (SortDirection::Asc, AnchorRow::Excluded) => Column::Id.gt(anchor.id),
        (SortDirection::Asc, AnchorRow::Included) => Column::Id.gte(anchor.id),
        (SortDirection::Desc, AnchorRow::Excluded) => Column::Id.lt(anchor.id),
        (SortDirection::Desc, AnchorRow::Included) => Column::Id.lte(anchor.id),
    };
    Condition::all()
        .add(key_bound)
        .add(Condition::any().add(key_beyond).add(id_onwards))
}

fn anchor_key(anchor: &Keyset) -> sea_orm::Value {
    match &anchor.key {
        SortKey::Time(at) => sea_orm::Value::from(*at),
        SortKey::Text(text) => sea_orm::Value::from(text.clone()),
    }
}

/// Whether any matching row lies at or before `anchor` when the list runs in `direction`: the
/// rows a page that starts after `anchor` leaves behind.
async fn any_outside(
    db: &DatabaseConnection,
    owner: &Owner,
    filter: &TaskFilter,
    sort: SortField,
    anchor: &Keyset,
    direction: SortDirection,
) -> Result<bool, AppError> {
    let found = filtered(db, owner, filter)
        .filter(up_to(sort, anchor, direction))
        .select_only()
        .column(Column::Id)
        .limit(1)
        .into_tuple::<Uuid>()
        .one(db)
        .await?;
    Ok(found.is_some())
}
