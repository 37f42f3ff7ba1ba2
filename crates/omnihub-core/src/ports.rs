//! The two upstreams as traits, so the dispatcher is testable without HTTP, and their
//! implementations by the real clients.

use std::future::Future;
use std::time::Duration;

use omnihub_agent::{AgentClient, AgentError, AgentRequest, AgentTarget};
use omnihub_domain::InstanceConfig;
use omnihub_evolution::{EvolutionClient, EvolutionError, EvolutionTarget, Presence};

/// Calls an instance's agent.
pub trait AgentApi: Send + Sync + 'static {
    /// Runs the agent on `request` and returns its reply text.
    fn run(
        &self,
        instance: &InstanceConfig,
        request: &AgentRequest,
    ) -> impl Future<Output = Result<String, AgentError>> + Send;
}

/// Sends through an instance's WhatsApp number.
pub trait MessengerApi: Send + Sync + 'static {
    /// Sends `text` to `chat` (a JID as received).
    fn send_text(
        &self,
        instance: &InstanceConfig,
        chat: &str,
        text: &str,
    ) -> impl Future<Output = Result<(), EvolutionError>> + Send;

    /// Shows "typing…" in `chat` for a moment.
    fn send_typing(
        &self,
        instance: &InstanceConfig,
        chat: &str,
    ) -> impl Future<Output = Result<(), EvolutionError>> + Send;
}

impl AgentApi for AgentClient {
    async fn run(&self, instance: &InstanceConfig, request: &AgentRequest) -> Result<String, AgentError> {
        let target = AgentTarget {
            base_url: &instance.agent_api_url,
            api_key: &instance.agent_api_key,
            agent: &instance.default_agent,
            timeout: Duration::from_secs(u64::from(instance.agent_timeout.secs())),
        };
        AgentClient::run(self, target, request).await
    }
}

/// How long the typing indicator is held (Evolution blocks the presence call this long).
const TYPING_FOR: Duration = Duration::from_secs(3);

fn target(instance: &InstanceConfig) -> Result<EvolutionTarget<'_>, EvolutionError> {
    match (&instance.evolution_url, &instance.evolution_key) {
        (Some(base_url), Some(api_key)) => Ok(EvolutionTarget {
            base_url,
            api_key,
            instance: &instance.whatsapp_instance,
        }),
        _ => Err(EvolutionError::Request(format!(
            "instance '{}' has no Evolution URL or key",
            instance.name
        ))),
    }
}

impl MessengerApi for EvolutionClient {
    async fn send_text(
        &self,
        instance: &InstanceConfig,
        chat: &str,
        text: &str,
    ) -> Result<(), EvolutionError> {
        EvolutionClient::send_text(self, target(instance)?, chat, text).await
    }

    async fn send_typing(&self, instance: &InstanceConfig, chat: &str) -> Result<(), EvolutionError> {
        self.send_presence(target(instance)?, chat, Presence::Composing, TYPING_FOR)
            .await
    }
}
