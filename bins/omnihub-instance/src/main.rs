//! `omnihub-instance`: manage omnihub instances (WhatsApp numbers bound to agents).
//!
//! Exit codes: 0 success, 1 failure (not found, conflict, invalid value, database
//! unreachable), 2 usage error. Results go to stdout, errors to stderr as one sentence.

mod agents;
mod chats;
mod commands;
mod import;
mod messages;
mod numbers;
mod qr;
mod render;
mod secrets;
mod send;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Manage omnihub instances: each binds one WhatsApp number (an Evolution API instance)
/// to one agent backend.
#[derive(Debug, Parser)]
#[command(name = "omnihub-instance", version, about, long_about = None)]
pub struct Cli {
    /// Database URL: postgres://… or postgresql://…, sqlite://PATH, or a file path.
    /// Falls back to OMNIHUB_DATABASE_URL, then DATABASE_URL (environment or .env), then
    /// ./data/omnihub.db (created on first use).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,

    /// Print machine-readable JSON instead of tables and sentences (secrets stay masked).
    #[arg(long, global = true)]
    pub json: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every instance, ordered by name.
    List,
    /// Show every field of one instance (keys masked).
    Show {
        /// The instance name.
        name: String,
    },
    /// Create an instance.
    Add(AddArgs),
    /// Change some fields of an instance; fields not given stay as they are.
    Update(UpdateArgs),
    /// Delete an instance (asks for confirmation on a terminal).
    Delete {
        /// The instance name.
        name: String,
        /// Do not ask; also allows deleting the last instance. Required when stdin is not a terminal.
        #[arg(long)]
        force: bool,
    },
    /// Make an instance the default (used by the legacy /webhook/evolution route).
    SetDefault {
        /// The instance name.
        name: String,
    },
    /// Show the message log (newest first), or queue failed messages again with `messages retry`.
    Messages(messages::MessagesArgs),
    /// Copy every instance and every unfinished message from one database into another, empty
    /// one (e.g. SQLite to PostgreSQL), in one transaction, and verify the counts. Stop the
    /// server on the source first.
    MigrateDb {
        /// The database to copy from (e.g. sqlite://./data/omnihub.db).
        #[arg(long, value_name = "URL")]
        from: String,
        /// The empty database to copy into (e.g. postgres://user:pass@host/omnihub); it is migrated first.
        #[arg(long, value_name = "URL")]
        to: String,
        /// Copy finished (done and failed) messages too, not only unfinished ones.
        #[arg(long)]
        include_finished: bool,
    },
    /// Agent memory omnihub keeps per chat (openai history, Dify conversation, Typebot session).
    Conversations {
        /// What to do.
        #[command(subcommand)]
        action: agents::ConversationsAction,
    },
    /// The instance's conversation rules: who is answered, when, and how a human takes over.
    Rules {
        /// What to do.
        #[command(subcommand)]
        action: chats::RulesAction,
    },
    /// The instance's chats as the rules see them (paused ones with --paused), most recent first.
    Chats {
        /// The instance name.
        name: String,
        /// Only paused chats.
        #[arg(long)]
        paused: bool,
    },
    /// Pause the bot for one chat (a phone number or JID): its messages are stored, not answered.
    Pause {
        /// The instance name.
        name: String,
        /// The chat: a phone number or a JID (…@s.whatsapp.net, …@lid, …@g.us).
        chat: String,
        /// Minutes to pause (until resumed when left out).
        #[arg(long, value_name = "N")]
        minutes: Option<u32>,
    },
    /// Send a text or a file from the instance's number; the running server sends it in the
    /// chat's order, paced. The chat is paused for takeover_minutes unless --keep-bot.
    Send(send::SendArgs),
    /// Resume the bot for one chat at once.
    Resume {
        /// The instance name.
        name: String,
        /// The chat: a phone number or a JID.
        chat: String,
    },
    /// Call an instance's agent once with a throwaway conversation and show the reply (or the
    /// classified error, exit 1) and the latency. Nothing is stored or sent to WhatsApp.
    TestAgent {
        /// The instance name.
        name: String,
        /// The message to send.
        text: String,
    },
    /// Connect the instance's WhatsApp number: creates the Evolution instance (with omnihub's
    /// webhook; needs OMNIHUB_PUBLIC_URL) when Evolution does not know it, draws the QR code
    /// (redrawn as it rotates) or prints the pairing code, and waits. Exit 0 once the number
    /// is open; 1 on timeout, refusal or error. With --json, one JSON line per change.
    Connect {
        /// The instance name.
        name: String,
        /// Get a pairing code for this phone number (country code first) instead of a QR.
        #[arg(long, value_name = "PHONE")]
        number: Option<String>,
        /// Seconds to wait for the scan.
        #[arg(long, value_name = "SECONDS", default_value_t = 180)]
        timeout: u64,
    },
    /// The connection state, number and webhook status from Evolution, for one instance or
    /// (without NAME) all of them as a table.
    Status {
        /// The instance name (all when absent).
        name: Option<String>,
    },
    /// Set Evolution's webhook for the instance to omnihub's ({OMNIHUB_PUBLIC_URL}/webhook/
    /// evolution/NAME, the events omnihub needs, the x-omnihub-token header; a webhook secret
    /// is generated when the instance has none). Safe to repeat.
    WebhookSync {
        /// The instance name.
        name: String,
    },
    /// Restart the number's connection on Evolution (a closed one is connected instead).
    Restart {
        /// The instance name.
        name: String,
    },
    /// Log the number out on Evolution (connecting again needs a new scan).
    Logout {
        /// The instance name.
        name: String,
    },
    /// Create omnihub instances for instances an Evolution server already has, and set their
    /// webhooks (needs OMNIHUB_PUBLIC_URL). The Evolution key comes from EVOLUTION_API_KEY or
    /// a prompt.
    Import(import::ImportArgs),
    /// Create the `default` instance from AGENT_API_URL, AGENT_API_KEY, DEFAULT_AGENT_NAME,
    /// AGENT_API_TIMEOUT, WHATSAPP_INSTANCE, SESSION_ID_PREFIX, EVOLUTION_API_URL and
    /// EVOLUTION_API_KEY (environment or .env) when no instance exists yet; when instances
    /// exist but none is the default, promote the oldest. Safe to run repeatedly.
    Bootstrap,
}

/// Options of `add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Instance name: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.
    pub name: String,
    /// Name of the instance on the Evolution API server.
    #[arg(long, value_name = "NAME")]
    pub whatsapp_instance: String,
    /// Base URL of the agent API (http:// or https://).
    #[arg(long, value_name = "URL")]
    pub agent_api_url: String,
    /// Key of the agent backend (x-api-key for automagik, Bearer for the others; required
    /// for automagik and dify). Prefer --agent-api-key-file or OMNIHUB_AGENT_API_KEY: the
    /// command line is visible in the process list and history.
    #[arg(
        long,
        value_name = "KEY",
        env = "OMNIHUB_AGENT_API_KEY",
        hide_env_values = true
    )]
    pub agent_api_key: Option<String>,
    /// Agent that answers this instance's messages.
    #[arg(long, value_name = "AGENT")]
    pub default_agent: String,
    #[command(flatten)]
    pub(crate) optional: OptionalArgs,
}

/// Options of `update`: all optional.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The instance name.
    pub name: String,
    /// Name of the instance on the Evolution API server.
    #[arg(long, value_name = "NAME")]
    pub whatsapp_instance: Option<String>,
    /// Base URL of the agent API (http:// or https://).
    #[arg(long, value_name = "URL")]
    pub agent_api_url: Option<String>,
    /// Key of the agent backend (or --agent-api-key-file, or OMNIHUB_AGENT_API_KEY); empty
    /// removes it (only for kinds that need none).
    #[arg(
        long,
        value_name = "KEY",
        env = "OMNIHUB_AGENT_API_KEY",
        hide_env_values = true
    )]
    pub agent_api_key: Option<String>,
    /// Agent that answers this instance's messages.
    #[arg(long, value_name = "AGENT")]
    pub default_agent: Option<String>,
    #[command(flatten)]
    pub(crate) optional: OptionalArgs,
}

/// Options shared by `add` and `update`.
#[derive(Debug, Args)]
pub struct OptionalArgs {
    /// Base URL of the Evolution API server (http:// or https://); empty means not configured.
    #[arg(long, value_name = "URL")]
    pub evolution_url: Option<String>,
    /// Evolution API key (sent as apikey); empty means not configured (or
    /// --evolution-key-file, or OMNIHUB_EVOLUTION_KEY).
    #[arg(
        long,
        value_name = "KEY",
        env = "OMNIHUB_EVOLUTION_KEY",
        hide_env_values = true
    )]
    pub evolution_key: Option<String>,
    /// Prefix of agent session names (default: "<instance name>_"); empty removes it.
    #[arg(long, value_name = "PREFIX")]
    pub session_id_prefix: Option<String>,
    /// The protocol of the agent backend: automagik (default), openai, dify, n8n, flowise,
    /// typebot or webhook. A new kind starts without options.
    #[arg(long, value_name = "KIND")]
    pub agent_kind: Option<String>,
    /// A kind-specific option, KEY=VALUE, repeatable (e.g. history_turns=6,
    /// system_prompt="Be brief."). VALUE is read as JSON when it is (numbers, objects,
    /// "quoted strings"), else as text; KEY= removes the option (update).
    #[arg(long = "agent-option", value_name = "KEY=VALUE")]
    pub agent_options: Vec<String>,
    /// Seconds to wait for the agent, 1-3600 (default 60).
    #[arg(long, value_name = "SECONDS")]
    pub agent_timeout: Option<i64>,
    /// Token Evolution must send on webhooks (x-omnihub-token header, Bearer or ?token=),
    /// 16+ characters; empty removes it (or --webhook-secret-file, or OMNIHUB_WEBHOOK_SECRET).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "OMNIHUB_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    pub webhook_secret: Option<String>,
    /// Read the agent API key from this file ('-': standard input), keeping it off the
    /// command line.
    #[arg(long, value_name = "PATH", conflicts_with = "agent_api_key")]
    pub agent_api_key_file: Option<std::path::PathBuf>,
    /// Read the Evolution API key from this file ('-': standard input).
    #[arg(long, value_name = "PATH", conflicts_with = "evolution_key")]
    pub evolution_key_file: Option<std::path::PathBuf>,
    /// Read the webhook secret from this file ('-': standard input).
    #[arg(long, value_name = "PATH", conflicts_with = "webhook_secret")]
    pub webhook_secret_file: Option<std::path::PathBuf>,
    /// Make this instance the default one.
    #[arg(long)]
    pub default: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The database URL and the seed variables may come from .env; variables set in the
    // environment win.
    let env = match omnihub_config::Env::load() {
        Ok(env) => env,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    match commands::run(cli, &env, &mut stdout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
