//! Accounts, sessions, passwords and login throttling — what the admin's
//! front door (`admin::guard`) and the CLI (`halftone user add`) use.

pub mod password;
pub mod ratelimit;
pub mod sessions;
pub mod users;

pub use sessions::Session;
pub use users::{EmailAddress, Role, User};
