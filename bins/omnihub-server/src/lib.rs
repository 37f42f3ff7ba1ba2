//! The omnihub server as a library: configuration, the actix application and its state,
//! so the binary and the tests build exactly the same thing.
//!
//! ```no_run
//! use omnihub_db::{Database, DatabaseUrl};
//! use omnihub_server::{app, AppState};
//!
//! # fn main() -> std::io::Result<()> {
//! let db = Database::connect(&DatabaseUrl::default_sqlite()).expect("database");
//! db.migrate().expect("migrations");
//! let state = AppState::new(db, None, Vec::new());
//! actix_web::rt::System::new().block_on(async move {
//!     actix_web::HttpServer::new(move || app(state.clone()))
//!         .bind(("127.0.0.1", 8000))?
//!         .run()
//!         .await
//! })
//! # }
//! ```

mod app;
pub mod config;
pub mod dto;
pub mod dto_messages;
pub mod error;
mod extract;
mod handlers;
pub mod metrics;
mod middleware;
pub mod openapi;
pub mod pipeline_config;
pub mod proxy;
mod state;

pub use app::{app, routes};
pub use config::{ConfigError, LogFormat, ServerConfig};
pub use error::{ApiError, ErrorBody};
pub use extract::ADMIN_BODY_LIMIT;
pub use metrics::Metrics;
pub use pipeline_config::PipelineConfig;
pub use state::AppState;
