//! Content: works, articles and collections; their lists, loaders and search documents.

pub mod cursor;
pub mod erase;
mod images;
pub mod loaders;
pub mod model;
pub mod search;
pub mod service;
pub mod store;
pub mod text;
pub mod views;
