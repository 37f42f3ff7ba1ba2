//! The omnihub server as a library: configuration, the actix application and its state,
//! so the binary and the tests build exactly the same thing.
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use omnihub_db::{Database, DatabaseUrl};
//! use omnihub_server::{app, start_pipeline, AppState, Metrics, PipelineSettings};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let db = Database::connect(&DatabaseUrl::default_sqlite())?;
//! db.migrate()?;
//! let metrics = Arc::new(Metrics::new());
//! let pipeline = start_pipeline(db, &PipelineSettings::default(), metrics.clone())?;
//! let state = AppState::new(pipeline.clone(), metrics, None, Vec::new());
//! actix_web::rt::System::new().block_on(async move {
//!     actix_web::HttpServer::new(move || app(state.clone()))
//!         .bind(("127.0.0.1", 8000))?
//!         .run()
//!         .await
//! })?;
//! pipeline.shutdown(std::time::Duration::from_secs(30));
//! # Ok(())
//! # }
//! ```

mod app;
pub mod body;
pub mod config;
pub mod console;
pub mod dto;
pub mod dto_agents;
pub mod dto_chats;
pub mod dto_lifecycle;
pub mod dto_messages;
pub mod dto_outbound;
pub mod error;
mod extract;
mod handlers;
pub mod log_limits;
pub mod metrics;
pub mod metrics_chats;
pub mod metrics_connections;
pub mod metrics_outbound;
pub mod metrics_safety;
mod middleware;
pub mod openapi;
mod openapi_agents;
mod openapi_contract;
mod openapi_outbound;
mod openapi_rules;
pub mod pipeline_config;
pub mod proxy;
mod state;

pub use app::{app, routes};
pub use config::{ConfigError, LogFormat, ServerConfig};
pub use error::{ApiError, ErrorBody};
pub use extract::ADMIN_BODY_LIMIT;
pub use metrics::Metrics;
pub use pipeline_config::PipelineSettings;
pub use state::{start_pipeline, AppState, WebhookLimits};
