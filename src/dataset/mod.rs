//! Training data on disk: clip lists, `.npz` files, and `gopwatch extract`.

pub mod extract;
pub mod list;
pub mod npz;
