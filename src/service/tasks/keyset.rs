//! Keyset listing, as GraphQL's connections page: rows after or before a position `(sort key,
//! id)` rather than an offset, so a page stays correct while rows come and go elsewhere.

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::filter::{filtered, sort_column, sql_order};
use crate::domain::{Owner, SortDirection, SortField, TaskFilter};
use crate::entity::task::{self, Column};
use crate::error::AppError;
use crate::service::tenant;

/// The value of a task's sort key, as a keyset cursor carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// `created_at` or `updated_at`.
    Time(chrono::DateTime<chrono::Utc>),
    /// `title`.
    Text(String),
    /// `priority`, in its column encoding (0 low, 1 medium, 2 high).
    Priority(i16),
    /// `due_at`; `None` for a task without a due date (those come after every dated task, in
    /// both directions).
    Due(Option<chrono::DateTime<chrono::Utc>>),
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
            SortField::DueAt => SortKey::Due(task.due_at),
            SortField::Priority => SortKey::Priority(task.priority),
        };
        Self { key, id: task.id }
    }

    fn fits(&self, sort: SortField) -> bool {
        matches!(
            (&self.key, sort),
            (SortKey::Time(_), SortField::CreatedAt | SortField::UpdatedAt)
                | (SortKey::Text(_), SortField::Title)
                | (SortKey::Due(_), SortField::DueAt)
                | (SortKey::Priority(_), SortField::Priority)
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
    let scope = tenant::scope(db, owner).await?;
    let db = &scope;
    if sort == SortField::DueAt {
        return list_keyset_by_due(db, owner, filter, request).await;
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
    from_key(sort_column(sort), anchor_key(anchor), anchor.id, direction, row)
}

/// [`from_anchor`] for a row whose key in `column` is `key` and whose id is `id`.
fn from_key(
    column: Column,
    key: sea_orm::Value,
    id: Uuid,
    direction: SortDirection,
    row: AnchorRow,
) -> Condition {
    let (key_bound, key_beyond) = match direction {
        SortDirection::Asc => (column.gte(key.clone()), column.gt(key)),
        SortDirection::Desc => (column.lte(key.clone()), column.lt(key)),
    };
    let id_onwards = ids_from(id, direction, row);
    Condition::all()
        .add(key_bound)
        .add(Condition::any().add(key_beyond).add(id_onwards))
}

/// Ids from `id` on (`id` itself included or not) when the list runs in `direction`.
fn ids_from(id: Uuid, direction: SortDirection, row: AnchorRow) -> sea_orm::sea_query::SimpleExpr {
    match (direction, row) {
        (SortDirection::Asc, AnchorRow::Excluded) => Column::Id.gt(id),
        (SortDirection::Asc, AnchorRow::Included) => Column::Id.gte(id),
        (SortDirection::Desc, AnchorRow::Excluded) => Column::Id.lt(id),
        (SortDirection::Desc, AnchorRow::Included) => Column::Id.lte(id),
    }
}

fn anchor_key(anchor: &Keyset) -> sea_orm::Value {
    match &anchor.key {
        SortKey::Time(at) => sea_orm::Value::from(*at),
        SortKey::Text(text) => sea_orm::Value::from(text.clone()),
        SortKey::Priority(priority) => sea_orm::Value::from(*priority),
        // Due-date lists page through `list_keyset_by_due`, which never asks for this.
        SortKey::Due(due) => sea_orm::Value::from(*due),
    }
}

/// Whether any matching row lies at or before `anchor` when the list runs in `direction`: the
/// rows a page that starts after `anchor` leaves behind.
async fn any_outside(
    db: &impl ConnectionTrait,
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

// ---- Due-date lists ---------------------------------------------------------------------------
//
// A list by due date is two segments: the dated tasks, by `(due_at, id)` in the list's
// direction, then the undated ones, by `id` in the same direction (nulls last both ways, so a
// descending list is NOT the ascending one reversed). Each segment is queried on its own, with
// an explicit `due_at IS NOT NULL` / `due_at IS NULL`, so each reads a range of its partial
// index `(user_id, due_at, id) WHERE due_at IS NOT NULL` or `(user_id, id) WHERE due_at IS NULL`.

/// The two parts of a list by due date, in the list's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DueSegment {
    Dated,
    Undated,
}

impl DueSegment {
    fn rows(self) -> Condition {
        match self {
            Self::Dated => Condition::all().add(Column::DueAt.is_not_null()),
            Self::Undated => Condition::all().add(Column::DueAt.is_null()),
        }
    }
}

/// Which way from an anchor, in the list's own order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Toward {
    /// The rows after the anchor.
    End,
    /// The rows before the anchor.
    Start,
}

/// The rows of `segment` on the `toward` side of `anchor` in a list by due date running in
/// `direction` (the anchor row itself kept or not, as `row` says). `None` when no row of the
/// segment lies there; `Some` of an empty condition when all of them do.
fn due_side(
    segment: DueSegment,
    anchor: &Keyset,
    direction: SortDirection,
    toward: Toward,
    row: AnchorRow,
) -> Option<Condition> {
    let due = match anchor.key {
        SortKey::Due(due) => due,
        // `list_keyset` checked that every cursor fits the sort field.
        _ => None,
    };
    let scan = match toward {
        Toward::End => direction,
        Toward::Start => reverse(direction),
    };
    match (segment, due, toward) {
        (DueSegment::Dated, Some(at), _) => Some(Condition::all().add(from_key(
            Column::DueAt,
            sea_orm::Value::from(at),
            anchor.id,
            scan,
            row,
        ))),
        // Every dated row comes before an undated anchor.
        (DueSegment::Dated, None, Toward::End) => None,
        (DueSegment::Dated, None, Toward::Start) => Some(Condition::all()),
        // Every undated row comes after a dated anchor.
        (DueSegment::Undated, Some(_), Toward::End) => Some(Condition::all()),
        (DueSegment::Undated, Some(_), Toward::Start) => None,
        (DueSegment::Undated, None, _) => Some(Condition::all().add(ids_from(anchor.id, scan, row))),
    }
}

/// The rows of `segment` strictly between the request's cursors; `None` when there are none.
fn between_cursors(segment: DueSegment, request: &KeysetRequest) -> Option<Condition> {
    let mut condition = segment.rows();
    if let Some(after) = &request.after {
        condition = condition.add(due_side(
            segment,
            after,
            request.direction,
            Toward::End,
            AnchorRow::Excluded,
        )?);
    }
    if let Some(before) = &request.before {
        condition = condition.add(due_side(
            segment,
            before,
            request.direction,
            Toward::Start,
            AnchorRow::Excluded,
        )?);
    }
    Some(condition)
}

/// `list_keyset` for a list by due date: the segments in scan order, each queried for what the
/// page still needs (`n + 1` rows in all, to learn whether more exist), so a page costs one
/// statement, two when it crosses from dated to undated tasks.
async fn list_keyset_by_due(
    db: &impl ConnectionTrait,
    owner: &Owner,
    filter: &TaskFilter,
    request: &KeysetRequest,
) -> Result<KeysetPage, AppError> {
    let direction = request.direction;
    let (scan, limit, segments) = match request.take {
        PageTake::First(n) => (direction, n, [DueSegment::Dated, DueSegment::Undated]),
        PageTake::Last(n) => (reverse(direction), n, [DueSegment::Undated, DueSegment::Dated]),
    };
    let wanted = limit.saturating_add(1);
    let mut tasks: Vec<task::Model> = Vec::new();
    for segment in segments {
        let still_wanted = wanted - tasks.len() as u64;
        if still_wanted == 0 {
            break;
        }
        let Some(condition) = between_cursors(segment, request) else {
            continue;
        };
        let order = sql_order(scan);
        let mut query = filtered(db, owner, filter).filter(condition);
        if segment == DueSegment::Dated {
            query = query.order_by(Column::DueAt, order.clone());
        }
        let rows = query
            .order_by(Column::Id, order)
            .limit(still_wanted)
            .all(db)
            .await?;
        tasks.extend(rows);
    }
    let more = tasks.len() as u64 > limit;
    tasks.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let (has_previous_page, has_next_page) = match request.take {
        PageTake::First(_) => {
            let earlier = match &request.after {
                Some(after) if request.probe_outside => {
                    any_on_side(db, owner, filter, after, direction, Toward::Start).await?
                }
                _ => false,
            };
            (earlier, more)
        }
        PageTake::Last(_) => {
            tasks.reverse();
            let later = match &request.before {
                Some(before) if request.probe_outside => {
                    any_on_side(db, owner, filter, before, direction, Toward::End).await?
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

/// Whether any matching row lies at `anchor` or on its `toward` side in a list by due date: the
/// rows a page that starts past `anchor` leaves behind. One `LIMIT 1` probe per segment, and
/// the second only when the first finds nothing.
async fn any_on_side(
    db: &impl ConnectionTrait,
    owner: &Owner,
    filter: &TaskFilter,
    anchor: &Keyset,
    direction: SortDirection,
    toward: Toward,
) -> Result<bool, AppError> {
    for segment in [DueSegment::Dated, DueSegment::Undated] {
        let Some(side) = due_side(segment, anchor, direction, toward, AnchorRow::Included) else {
            continue;
        };
        let found = filtered(db, owner, filter)
            .filter(segment.rows().add(side))
            .select_only()
            .column(Column::Id)
            .limit(1)
            .into_tuple::<Uuid>()
            .one(db)
            .await?;
        if found.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}
