//! SeaORM entities. Task queries start only from the owner-scoped constructors in [`task`], so no
//! code outside this module can forget the owner filter.

pub mod task;
pub mod user;
