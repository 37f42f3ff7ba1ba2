//! Taking in one Evolution webhook: find the instance, check its token, check the envelope,
//! parse and classify the messages, and commit them durably. What the caller answers
//! follows from the [`IngestOutcome`] alone.

use std::fmt;
use std::sync::Arc;

use omnihub_db::{Arriving, RulesInForce};
use omnihub_domain::InstanceConfig;
use omnihub_evolution::{parse_envelope, parse_lifecycle, parse_upserts, EvolutionError};
use subtle::ConstantTimeEq;

use crate::classify::{classify, Decision};
use crate::connection_events::ConnectionRecorder;
use crate::log_writer::{LogWriter, Written};
use crate::InstanceCache;

/// What became of one webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOutcome {
    /// New messages were committed and will be answered.
    Accepted {
        /// How many new messages.
        messages: usize,
        /// Fields whose NUL characters were replaced before storing (no person types them,
        /// PostgreSQL cannot store them).
        sanitised: Vec<&'static str>,
        /// Messages of the same webhook the database refused (the others were committed).
        refused: Vec<RefusedMessage>,
    },
    /// Every message was already logged: nothing was done.
    Duplicate,
    /// Nothing will be answered, by the instance's conversation rules: the messages were
    /// stored as skipped, or a message typed on the instance's phone paused or resumed its
    /// chat (the reason says which).
    Skipped(String),
    /// Nothing to answer (another event, the owner's own message, a reaction…), for this reason.
    Ignored(String),
    /// A lifecycle webhook was stored: the instance's connection is now in this state.
    Recorded(String),
    /// The webhook was refused; resending it unchanged will not help.
    Rejected(Rejection),
    /// The database could not commit it: nothing was written, the sender should retry.
    Unavailable(String),
}

/// A message the database refused for its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedMessage {
    /// Its WhatsApp message id (cut to 64 characters).
    pub message_id: String,
    /// The database's reason.
    pub reason: String,
}

/// Why a webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// No instance has this name.
    UnknownInstance(String),
    /// The legacy route was used but no instance is the default.
    NoDefaultInstance,
    /// The instance has a webhook secret and the request carried none.
    MissingToken,
    /// The request carried a token that is not the instance's secret.
    InvalidToken,
    /// The envelope names another Evolution instance than the one this instance is bound to.
    WrongInstance {
        /// The Evolution instance the envelope names.
        named: String,
        /// The omnihub instance.
        instance: String,
        /// The Evolution instance it is bound to.
        bound: String,
    },
    /// The body is not JSON.
    MalformedJson(String),
    /// The body is JSON but not an Evolution webhook.
    NotAWebhook(String),
    /// The database refused every message of the webhook for its content.
    Unstorable(Vec<RefusedMessage>),
    /// The webhook carries more messages than one webhook may.
    TooManyMessages {
        /// How many it carries.
        count: usize,
        /// The limit.
        max: usize,
    },
}

impl Rejection {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownInstance(_) | Self::NoDefaultInstance => "not_found",
            Self::MissingToken => "missing_webhook_token",
            Self::InvalidToken => "invalid_webhook_token",
            Self::WrongInstance { .. } => "forbidden",
            Self::MalformedJson(_) => "invalid_json",
            Self::NotAWebhook(_) => "not_an_evolution_webhook",
            Self::Unstorable(_) => "unstorable_message",
            Self::TooManyMessages { .. } => "too_many_messages",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownInstance(name) => write!(f, "instance '{name}' not found"),
            Self::NoDefaultInstance => f.write_str("no default instance is set for /webhook/evolution"),
            Self::MissingToken => f.write_str(
                "this instance needs its webhook token as x-omnihub-token, Authorization: Bearer or ?token=",
            ),
            Self::InvalidToken => f.write_str("the webhook token is not valid for this instance"),
            Self::WrongInstance {
                named,
                instance,
                bound,
            } => write!(
                f,
                "the webhook names Evolution instance {named:?}, but '{instance}' is bound to '{bound}'"
            ),
            Self::MalformedJson(reason) | Self::NotAWebhook(reason) => f.write_str(reason),
            Self::TooManyMessages { count, max } => write!(
                f,
                "the webhook carries {count} messages; at most {max} are accepted in one webhook (OMNIHUB_WEBHOOK_MAX_MESSAGES); nothing was stored"
            ),
            Self::Unstorable(refused) => {
                f.write_str("the database refused the webhook's messages: ")?;
                let reasons: Vec<String> = refused
                    .iter()
                    .map(|r| format!("{} ({})", r.message_id, r.reason))
                    .collect();
                f.write_str(&reasons.join("; "))
            }
        }
    }
}

/// The instance a webhook is for: the one named in the path, or the default one. Checks
/// the token (constant time) when the instance has a webhook secret.
pub(crate) fn authenticate(
    cache: &InstanceCache,
    name: Option<&str>,
    token: Option<&str>,
) -> Result<Arc<InstanceConfig>, Rejection> {
    let instance = match name {
        Some(name) => cache
            .get(name)
            .ok_or_else(|| Rejection::UnknownInstance(name.to_owned()))?,
        None => cache.default_instance().ok_or(Rejection::NoDefaultInstance)?,
    };
    let Some(secret) = &instance.webhook_secret else {
        return Ok(instance);
    };
    match token {
        Some(token) if bool::from(token.as_bytes().ct_eq(secret.expose().as_bytes())) => Ok(instance),
        Some(_) => Err(Rejection::InvalidToken),
        None => Err(Rejection::MissingToken),
    }
}

/// Everything after authentication: envelope, parse, classify, commit.
pub(crate) async fn ingest_for(
    writer: &LogWriter,
    recorder: &ConnectionRecorder,
    instance: &InstanceConfig,
    body: &[u8],
    max_messages: usize,
) -> IngestOutcome {
    let envelope = match parse_envelope(body) {
        Ok(envelope) => envelope,
        Err(err) => return IngestOutcome::Rejected(bad_webhook(err)),
    };
    if envelope.instance.as_deref() != Some(instance.whatsapp_instance.as_str()) {
        return IngestOutcome::Rejected(Rejection::WrongInstance {
            named: envelope.instance.unwrap_or_default(),
            instance: instance.name.to_string(),
            bound: instance.whatsapp_instance.to_string(),
        });
    }
    if !envelope.is_message_upsert() {
        if let Some(event) = parse_lifecycle(&envelope) {
            return recorder.record(instance, &event).await;
        }
        return IngestOutcome::Ignored(format!("event {} is not handled", envelope.event));
    }
    let upserts = match parse_upserts(&envelope.data) {
        Ok(upserts) => upserts,
        Err(err) => return IngestOutcome::Rejected(bad_webhook(err)),
    };
    // Evolution sends one message per webhook (a history sync a few); a large batch is an
    // attempt to make the instance write to many people at once.
    if upserts.len() > max_messages {
        return IngestOutcome::Rejected(Rejection::TooManyMessages {
            count: upserts.len(),
            max: max_messages,
        });
    }
    let mut accepted = Vec::new();
    let mut ignored = Vec::new();
    let mut sanitised = Vec::new();
    for upsert in upserts {
        match classify(upsert) {
            Decision::Accept(mut message, mut facts) => {
                facts.replace_nul();
                for field in message.replace_nul() {
                    if !sanitised.contains(&field) {
                        sanitised.push(field);
                    }
                }
                accepted.push(Arriving {
                    instance: instance.name.clone(),
                    message: *message,
                    facts,
                    rules: Some(RulesInForce {
                        rules: instance.rules.clone(),
                        decide: crate::rules::decide,
                    }),
                });
            }
            Decision::Ignore(reason) => ignored.push(reason),
        }
    }
    if accepted.is_empty() {
        return IngestOutcome::Ignored(ignored.join("; "));
    }
    if !sanitised.is_empty() {
        tracing::warn!(instance = %instance.name, fields = ?sanitised, "replaced NUL characters before storing a message");
    }
    let ids: Vec<String> = accepted
        .iter()
        .map(|a| a.message.message_id.chars().take(64).collect())
        .collect();
    let written = match writer.write(accepted).await {
        Ok(written) => written,
        Err(err) => return IngestOutcome::Unavailable(err.to_string()),
    };
    let mut messages = 0;
    let mut refused = Vec::new();
    let mut skipped = Vec::new();
    for (outcome, message_id) in written.into_iter().zip(ids) {
        match outcome {
            Written::New | Written::Joined(_) => messages += 1,
            Written::Duplicate => {}
            Written::Skipped(reason) => skipped.push(format!("not answered: {reason}")),
            Written::Steered(true) => skipped.push("chat paused: typed on the instance's phone".to_owned()),
            Written::Steered(false) => skipped.push("chat resumed: the resume keyword".to_owned()),
            Written::Refused(reason) => refused.push(RefusedMessage { message_id, reason }),
        }
    }
    match (messages, refused.is_empty()) {
        (0, false) => IngestOutcome::Rejected(Rejection::Unstorable(refused)),
        (0, true) if !skipped.is_empty() => IngestOutcome::Skipped(skipped.join("; ")),
        (0, true) => IngestOutcome::Duplicate,
        _ => IngestOutcome::Accepted {
            messages,
            sanitised,
            refused,
        },
    }
}

fn bad_webhook(err: EvolutionError) -> Rejection {
    match err {
        EvolutionError::MalformedJson(_) => Rejection::MalformedJson(err.to_string()),
        _ => Rejection::NotAWebhook(err.to_string()),
    }
}
