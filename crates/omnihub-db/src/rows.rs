//! Row structs of `instance_configs` and their conversion into domain types.

use chrono::{NaiveDateTime, TimeZone, Utc};
use diesel::prelude::*;
use omnihub_domain::{
    webhook_secret, AgentKind, AgentOptions, AgentTimeout, ConversationRules, DomainError, HttpUrl,
    InstanceChanges, InstanceConfig, InstanceName, NewInstance, PathName, Secret,
};

use crate::schema::instance_configs;
use crate::DbError;

/// A row as stored.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = instance_configs)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct InstanceRow {
    pub id: i64,
    pub name: String,
    pub evolution_url: String,
    pub evolution_key: String,
    pub whatsapp_instance: String,
    pub session_id_prefix: Option<String>,
    pub agent_api_url: String,
    pub agent_api_key: String,
    pub default_agent: String,
    pub agent_timeout: i32,
    pub is_default: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub webhook_secret: Option<String>,
    pub agent_kind: String,
    pub agent_options: String,
    pub rules: String,
}

impl TryFrom<InstanceRow> for InstanceConfig {
    type Error = DbError;

    fn try_from(row: InstanceRow) -> Result<Self, DbError> {
        let key = row.name.clone();
        let convert = move || -> Result<InstanceConfig, DomainError> {
            let agent_kind: AgentKind = row.agent_kind.parse()?;
            Ok(InstanceConfig {
                id: row.id,
                name: InstanceName::parse(row.name)?,
                evolution_url: HttpUrl::parse_optional("evolution_url", Some(row.evolution_url))?,
                evolution_key: match row.evolution_key.as_str() {
                    "" => None,
                    _ => Some(Secret::parse("evolution_key", row.evolution_key)?),
                },
                whatsapp_instance: PathName::parse("whatsapp_instance", row.whatsapp_instance)?,
                session_id_prefix: row.session_id_prefix.filter(|p| !p.is_empty()),
                agent_kind,
                agent_options: stored_options(agent_kind, &row.agent_options)?,
                agent_api_url: HttpUrl::parse("agent_api_url", row.agent_api_url)?,
                agent_api_key: match row.agent_api_key.as_str() {
                    "" => None,
                    _ => Some(Secret::parse("agent_api_key", row.agent_api_key)?),
                },
                default_agent: PathName::parse("default_agent", row.default_agent)?,
                agent_timeout: AgentTimeout::from_secs(i64::from(row.agent_timeout))?,
                is_default: row.is_default,
                webhook_secret: webhook_secret(row.webhook_secret)?,
                created_at: Utc.from_utc_datetime(&row.created_at),
                updated_at: Utc.from_utc_datetime(&row.updated_at),
                rules: std::sync::Arc::new(ConversationRules::from_stored(&row.rules)?),
            })
        };
        convert().map_err(|e| DbError::Corrupt {
            entity: "instance",
            key,
            reason: e.to_string(),
        })
    }
}

/// A row to insert.
#[derive(Insertable)]
#[diesel(table_name = instance_configs)]
pub(crate) struct NewInstanceRow<'a> {
    pub name: &'a str,
    pub evolution_url: &'a str,
    pub evolution_key: &'a str,
    pub whatsapp_instance: &'a str,
    pub session_id_prefix: Option<&'a str>,
    pub agent_api_url: &'a str,
    pub agent_api_key: &'a str,
    pub default_agent: &'a str,
    pub agent_timeout: i32,
    pub is_default: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub webhook_secret: Option<&'a str>,
    pub agent_kind: &'a str,
    pub agent_options: String,
    /// `None`: the column's default (no rules set).
    pub rules: Option<String>,
}

impl<'a> NewInstanceRow<'a> {
    pub(crate) fn new(new: &'a NewInstance, is_default: bool, now: NaiveDateTime) -> Self {
        Self {
            name: new.name.as_str(),
            evolution_url: new.evolution_url.as_ref().map_or("", HttpUrl::as_str),
            evolution_key: new.evolution_key.as_ref().map_or("", Secret::expose),
            whatsapp_instance: new.whatsapp_instance.as_str(),
            session_id_prefix: new.session_id_prefix.as_deref(),
            agent_api_url: new.agent_api_url.as_str(),
            agent_api_key: new.agent_api_key.as_ref().map_or("", Secret::expose),
            default_agent: new.default_agent.as_str(),
            agent_timeout: timeout_column(new.agent_timeout),
            is_default,
            created_at: now,
            updated_at: now,
            webhook_secret: new.webhook_secret.as_ref().map(Secret::expose),
            agent_kind: new.agent_kind.as_str(),
            agent_options: new.agent_options.to_stored().to_string(),
            rules: None,
        }
    }
}

impl<'a> NewInstanceRow<'a> {
    /// The same instance for another database (the id is the target's to choose).
    pub(crate) fn from_row(row: &'a InstanceRow) -> Self {
        Self {
            name: &row.name,
            evolution_url: &row.evolution_url,
            evolution_key: &row.evolution_key,
            whatsapp_instance: &row.whatsapp_instance,
            session_id_prefix: row.session_id_prefix.as_deref(),
            agent_api_url: &row.agent_api_url,
            agent_api_key: &row.agent_api_key,
            default_agent: &row.default_agent,
            agent_timeout: row.agent_timeout,
            is_default: row.is_default,
            created_at: row.created_at,
            updated_at: row.updated_at,
            webhook_secret: row.webhook_secret.as_deref(),
            agent_kind: &row.agent_kind,
            agent_options: row.agent_options.clone(),
            rules: Some(row.rules.clone()),
        }
    }
}

/// The columns a partial update sets; `None` leaves a column alone.
#[derive(AsChangeset)]
#[diesel(table_name = instance_configs)]
pub(crate) struct InstanceChangesRow<'a> {
    pub evolution_url: Option<&'a str>,
    pub evolution_key: Option<&'a str>,
    pub whatsapp_instance: Option<&'a str>,
    pub session_id_prefix: Option<Option<&'a str>>,
    pub agent_api_url: Option<&'a str>,
    pub agent_api_key: Option<&'a str>,
    pub default_agent: Option<&'a str>,
    pub agent_timeout: Option<i32>,
    pub webhook_secret: Option<Option<&'a str>>,
    pub agent_kind: Option<&'static str>,
    pub agent_options: Option<String>,
    pub updated_at: NaiveDateTime,
}

impl<'a> InstanceChangesRow<'a> {
    /// The columns `changes` sets; `agent` is the kind and options it resolves to (see
    /// [`InstanceChanges::agent_settings`]).
    pub(crate) fn new(
        changes: &'a InstanceChanges,
        agent: Option<&(AgentKind, AgentOptions)>,
        now: NaiveDateTime,
    ) -> Self {
        Self {
            evolution_url: changes
                .evolution_url
                .as_ref()
                .map(|url| url.as_ref().map_or("", HttpUrl::as_str)),
            evolution_key: changes
                .evolution_key
                .as_ref()
                .map(|key| key.as_ref().map_or("", Secret::expose)),
            whatsapp_instance: changes.whatsapp_instance.as_ref().map(PathName::as_str),
            session_id_prefix: changes.session_id_prefix.as_ref().map(|p| p.as_deref()),
            agent_api_url: changes.agent_api_url.as_ref().map(HttpUrl::as_str),
            agent_api_key: changes
                .agent_api_key
                .as_ref()
                .map(|key| key.as_ref().map_or("", Secret::expose)),
            default_agent: changes.default_agent.as_ref().map(PathName::as_str),
            agent_timeout: changes.agent_timeout.map(timeout_column),
            webhook_secret: changes
                .webhook_secret
                .as_ref()
                .map(|s| s.as_ref().map(Secret::expose)),
            agent_kind: agent.map(|(kind, _)| kind.as_str()),
            agent_options: agent.map(|(_, options)| options.to_stored().to_string()),
            updated_at: now,
        }
    }
}

/// Stored options, re-validated for the stored kind.
fn stored_options(kind: AgentKind, text: &str) -> Result<AgentOptions, DomainError> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => AgentOptions::parse(kind, &map),
        _ => Err(DomainError::invalid(
            "agent_options",
            "stored options are not a JSON object",
        )),
    }
}

/// The timeout as the `INTEGER` column stores it (always fits: at most 3600).
fn timeout_column(timeout: AgentTimeout) -> i32 {
    i32::try_from(timeout.secs()).unwrap_or(i32::MAX)
}
