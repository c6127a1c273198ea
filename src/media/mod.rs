//! The media pipeline: validate uploads, make responsive variants under
//! content-addressed names, store them, and serve them with year-long caching.

pub mod card;
pub mod decode;
pub mod pipeline;
pub mod routes;
pub mod store;
pub mod sync;
pub mod variants;
pub mod view;

pub use pipeline::{process, MediaError, Processed};
