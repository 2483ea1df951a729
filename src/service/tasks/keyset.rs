//! Keyset listing, as GraphQL's connections page: rows after or before a position `(sort key,
//! id)` rather than an offset, so a page stays correct while rows come and go elsewhere.

use sea_orm::{ColumnTrait, Condition, DatabaseConnection, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::filter::{filtered, sort_column, sql_order};
use crate::domain::{Owner, SortDirection, SortField, TaskFilter};
use crate::entity::task::{self, Column};
use crate::error::AppError;

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
