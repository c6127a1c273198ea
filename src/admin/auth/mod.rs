//! Accounts, sessions, passwords, CSRF and login throttling.

pub mod guard;
pub mod password;
pub mod ratelimit;
pub mod sessions;
pub mod users;

pub use sessions::Session;
pub use users::{EmailAddress, Role, User};
