//! Integration tests of omnihub-db on real SQLite files and real PostgreSQL databases.
//!
//! Every scenario runs on both engines, each on its own fresh database. Test names contain
//! `sqlite` or `postgres`; `make test` skips the latter when no server is configured.

#![expect(
    clippy::unwrap_used,
    reason = "a test should stop loudly at the first unexpected error"
)]

mod bootstrap;
mod chats;
mod connections;
mod conversations;
mod instances;
mod messages;
mod migrations;
mod outbox;
mod queues;
mod support;
