//! The protocol-neutral entry point: one pooled HTTP client, and the instance's
//! [`AgentKind`] choosing which protocol module speaks to its backend.

use std::time::Duration;

use omnihub_domain::{AgentKind, AgentReply, AgentTurn, InstanceConfig};

use crate::{automagik, dify, flowise, n8n, openai, typebot, webhook, AgentError};

/// Calls every instance's agent backend in the protocol the instance names. Cheap to clone;
/// clones share the connection pool.
#[derive(Debug, Clone)]
pub struct AgentBackends {
    http: reqwest::Client,
}

impl AgentBackends {
    /// Backends over one pooled HTTP client; each call sets its own timeout (the instance's
    /// `agent_timeout`).
    pub fn new() -> Result<Self, AgentError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(90))
            // A redirect would carry the agent's key to whatever host it names.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AgentError::Request(e.to_string()))?;
        Ok(Self { http })
    }

    /// Asks `instance`'s agent to answer `turn`.
    pub async fn run(
        &self,
        instance: &InstanceConfig,
        turn: &AgentTurn<'_>,
    ) -> Result<AgentReply, AgentError> {
        let http = &self.http;
        match instance.agent_kind {
            AgentKind::Automagik => automagik::run(http, instance, turn).await,
            AgentKind::Openai => openai::run(http, instance, turn).await,
            AgentKind::Dify => dify::run(http, instance, turn).await,
            AgentKind::N8n => n8n::run(http, instance, turn).await,
            AgentKind::Flowise => flowise::run(http, instance, turn).await,
            AgentKind::Typebot => typebot::run(http, instance, turn).await,
            AgentKind::Webhook => webhook::run(http, instance, turn).await,
        }
    }
}
