//! Running as several nodes: who is up (heartbeats in the `nodes` table),
//! what long work is in progress (`jobs`), the last errors this node saw,
//! and alert mails to the owner (`alerts`). One node or ten, the same code:
//! a single machine is a cluster of one.

pub mod alerts;
pub mod errors;
pub mod jobs;
pub mod node;
pub mod stats;

pub use node::NodeId;
