//! Fake upstreams that record every call and follow a script of failures.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use omnihub_agent::AgentError;
use omnihub_core::{AgentApi, MessengerApi};
use omnihub_domain::{AgentReply, AgentTurn, InstanceConfig};
use omnihub_evolution::EvolutionError;

/// One agent call as the fake saw it.
#[derive(Debug, Clone)]
pub struct AgentCall {
    pub instance: String,
    pub session: String,
    pub content: String,
}

#[derive(Clone, Default)]
pub struct FakeAgent {
    pub calls: Arc<Mutex<Vec<AgentCall>>>,
    pub script: Arc<Mutex<VecDeque<Result<AgentReply, AgentError>>>>,
    pub delay: Duration,
    /// Chats currently inside a call, to catch two calls of one chat at once.
    pub busy: Arc<Mutex<HashMap<String, u32>>>,
    pub overlaps: Arc<Mutex<u32>>,
}

impl FakeAgent {
    /// Answers the next call with this text (or error).
    pub fn then(&self, outcome: Result<&str, AgentError>) -> &Self {
        self.then_reply(outcome.map(AgentReply::text))
    }
    /// Answers the next call with this reply (or error).
    pub fn then_reply(&self, outcome: Result<AgentReply, AgentError>) -> &Self {
        self.script.lock().unwrap().push_back(outcome);
        self
    }
    pub fn calls(&self) -> Vec<AgentCall> {
        self.calls.lock().unwrap().clone()
    }
}

impl AgentApi for FakeAgent {
    async fn run(&self, instance: &InstanceConfig, turn: &AgentTurn<'_>) -> Result<AgentReply, AgentError> {
        let chat = turn.session.to_owned();
        {
            let mut busy = self.busy.lock().unwrap();
            let n = busy.entry(chat.clone()).or_default();
            if *n > 0 {
                *self.overlaps.lock().unwrap() += 1;
            }
            *n += 1;
        }
        self.calls.lock().unwrap().push(AgentCall {
            instance: instance.name.to_string(),
            session: turn.session.to_owned(),
            content: turn.message.content.text.clone(),
        });
        tokio::time::sleep(self.delay).await;
        *self.busy.lock().unwrap().get_mut(&chat).unwrap() -= 1;
        let scripted = self.script.lock().unwrap().pop_front();
        scripted.unwrap_or_else(|| Ok(AgentReply::text(format!("echo: {}", turn.message.content.text))))
    }
}

#[derive(Clone, Default)]
pub struct FakeMessenger {
    pub sent: Arc<Mutex<Vec<(String, String, String)>>>,
    pub script: Arc<Mutex<VecDeque<Result<(), EvolutionError>>>>,
    pub typing: Arc<Mutex<u32>>,
}

impl FakeMessenger {
    pub fn then(&self, outcome: Result<(), EvolutionError>) -> &Self {
        self.script.lock().unwrap().push_back(outcome);
        self
    }
    /// (instance, chat, text) of every successful send.
    pub fn sent(&self) -> Vec<(String, String, String)> {
        self.sent.lock().unwrap().clone()
    }
}

impl MessengerApi for FakeMessenger {
    async fn send_text(
        &self,
        instance: &InstanceConfig,
        chat: &str,
        text: &str,
    ) -> Result<(), EvolutionError> {
        let scripted = self.script.lock().unwrap().pop_front();
        if let Some(Err(e)) = scripted {
            return Err(e);
        }
        self.sent
            .lock()
            .unwrap()
            .push((instance.name.to_string(), chat.to_owned(), text.to_owned()));
        Ok(())
    }

    async fn send_typing(&self, _instance: &InstanceConfig, _chat: &str) -> Result<(), EvolutionError> {
        *self.typing.lock().unwrap() += 1;
        Ok(())
    }
}
