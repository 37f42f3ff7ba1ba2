//! The two upstreams as traits, so the pipeline runs against the real clients, another
//! program's own implementations, or test fakes.

use std::future::Future;
use std::time::Duration;

use omnihub_agent::{AgentBackends, AgentError};
use omnihub_domain::{AgentReply, AgentTurn, InstanceConfig, MessageContent};
use omnihub_evolution::{EvolutionClient, EvolutionError, EvolutionTarget, Presence};

/// Asks an instance's agent to answer one turn of a conversation, in whatever protocol the
/// backend speaks.
pub trait AgentApi: Send + Sync + 'static {
    /// Runs the agent on `turn` and returns what to send (or that nothing is to be sent).
    /// [`AgentError::is_transient`] decides whether the pipeline retries a failure.
    fn run(
        &self,
        instance: &InstanceConfig,
        turn: &AgentTurn<'_>,
    ) -> impl Future<Output = Result<AgentReply, AgentError>> + Send;

    /// Whether `instance`'s conversations keep state in omnihub: when true, the pipeline
    /// loads the stored state into [`AgentTurn::state`] before each turn. By default the
    /// instance's protocol decides ([`omnihub_domain::AgentKind::keeps_state`]).
    fn wants_state(&self, instance: &InstanceConfig) -> bool {
        instance.agent_kind.keeps_state()
    }
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

    /// Sends what a person wrote through omnihub to `chat`: a text (perhaps quoting a message
    /// by `quoted_id`) or media with its caption. The default sends texts without their quote
    /// and refuses media; [`EvolutionClient`] sends both.
    fn send_content(
        &self,
        instance: &InstanceConfig,
        chat: &str,
        content: &MessageContent,
    ) -> impl Future<Output = Result<(), EvolutionError>> + Send {
        async move {
            if content.media.is_some() {
                return Err(EvolutionError::Request("this messenger cannot send media".into()));
            }
            self.send_text(instance, chat, &content.text).await
        }
    }

    /// Shows "typing…" in `chat` for a moment.
    fn send_typing(
        &self,
        instance: &InstanceConfig,
        chat: &str,
    ) -> impl Future<Output = Result<(), EvolutionError>> + Send;
}

impl AgentApi for AgentBackends {
    async fn run(&self, instance: &InstanceConfig, turn: &AgentTurn<'_>) -> Result<AgentReply, AgentError> {
        AgentBackends::run(self, instance, turn).await
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

    async fn send_content(
        &self,
        instance: &InstanceConfig,
        chat: &str,
        content: &MessageContent,
    ) -> Result<(), EvolutionError> {
        EvolutionClient::send_content(self, target(instance)?, chat, content).await
    }

    async fn send_typing(&self, instance: &InstanceConfig, chat: &str) -> Result<(), EvolutionError> {
        self.send_presence(target(instance)?, chat, Presence::Composing, TYPING_FOR)
            .await
    }
}
