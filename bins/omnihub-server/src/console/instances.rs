//! The console's instances: a card per number with its connection (refreshing by itself),
//! agent, webhook and message counts; create and edit forms that validate like the API and
//! never show a secret.

use std::collections::HashMap;
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use omnihub_domain::{AgentKind, InstanceChangesInput, InstanceConfig, NewInstanceInput};
use serde_json::{Map, Value};

use crate::console::page::{age, render, see_other, Chrome, ConsoleError};
use crate::console::session::Signed;
use crate::dto::{CreateInstanceRequest, UpdateInstanceRequest};
use crate::error::ApiError;
use crate::handlers::instances::path_name;
use crate::state::AppState;

/// Longest the cards wait for Evolution's webhook answers before showing "checking".
const STATUS_BUDGET: Duration = Duration::from_secs(3);

/// One instance's card.
pub struct Card {
    name: String,
    state: String,
    number: String,
    agent_kind: String,
    webhook: String,
    unfinished: i64,
    failed: i64,
    last_message: String,
    is_default: bool,
}

#[derive(Template)]
#[template(path = "console/instances.html")]
struct InstancesPage {
    chrome: Chrome,
    cards: Vec<Card>,
}

#[derive(Template)]
#[template(path = "console/cards.html")]
struct CardsFragment {
    cards: Vec<Card>,
}

async fn cards_of(state: &AppState) -> Result<Vec<Card>, ApiError> {
    let (instances, activity, now) = state
        .db(|db| Ok((db.instances().list(0, 1000)?, db.messages().activity()?, db.now())))
        .await?;
    let connections = state.pipeline().instances().connections();
    let webhooks = webhook_states(state, &instances).await;
    Ok(instances
        .into_iter()
        .zip(webhooks)
        .map(|(instance, webhook)| {
            let name = instance.name.to_string();
            let connection = connections.iter().find(|(n, _)| *n == name).map(|(_, c)| c);
            let counts = activity.iter().find(|a| a.instance == name);
            Card {
                state: connection.map_or_else(|| "unknown".into(), |c| c.state.as_str().to_owned()),
                number: connection.and_then(|c| c.number.clone()).unwrap_or_default(),
                agent_kind: instance.agent_kind.as_str().to_owned(),
                webhook,
                unfinished: counts.map_or(0, |a| a.unfinished),
                failed: counts.map_or(0, |a| a.failed),
                last_message: counts
                    .and_then(|a| a.last_at)
                    .map_or_else(|| "never".into(), |t| format!("{} ago", age(now, t))),
                is_default: instance.is_default,
                name,
            }
        })
        .collect())
}

/// Each instance's webhook status from Evolution (cached a few seconds by the lifecycle),
/// asked together and cut off after [`STATUS_BUDGET`].
async fn webhook_states(state: &AppState, instances: &[InstanceConfig]) -> Vec<String> {
    let Ok(lifecycle) = state.lifecycle() else {
        return vec!["unknown".into(); instances.len()];
    };
    let asks = instances.iter().map(|instance| async move {
        if instance.evolution_url.is_none() {
            return "no Evolution".to_owned();
        }
        match lifecycle.status(instance).await {
            Ok(report) => report.webhook.as_str().to_owned(),
            Err(_) => "unknown".to_owned(),
        }
    });
    tokio::time::timeout(STATUS_BUDGET, futures_util::future::join_all(asks))
        .await
        .unwrap_or_else(|_| vec!["checking…".into(); instances.len()])
}

/// `GET /admin`: every instance.
pub async fn dashboard(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse, ConsoleError> {
    let cards = cards_of(&state).await?;
    let chrome = Chrome::of(&state, &signed.csrf).await;
    render(200, &InstancesPage { chrome, cards })
}

/// `GET /admin/fragments/instances`: the cards alone, for the page's refresh.
pub async fn cards(state: web::Data<AppState>, _signed: Signed) -> Result<HttpResponse, ConsoleError> {
    let cards = cards_of(&state).await?;
    render(200, &CardsFragment { cards })
}

/// The create and edit form.
#[derive(Template)]
#[template(path = "console/instance_form.html")]
struct InstanceForm {
    chrome: Chrome,
    /// `None` when creating.
    editing: Option<String>,
    values: HashMap<String, String>,
    /// Which secrets are set (shown masked, never filled in).
    secrets_set: Vec<String>,
    kinds: Vec<&'static str>,
    error: Option<String>,
}

const TEXT_FIELDS: [&str; 7] = [
    "name",
    "whatsapp_instance",
    "evolution_url",
    "agent_kind",
    "agent_api_url",
    "default_agent",
    "session_id_prefix",
];
const SECRET_FIELDS: [&str; 3] = ["evolution_key", "agent_api_key", "webhook_secret"];

fn kinds() -> Vec<&'static str> {
    AgentKind::ALL.iter().map(|k| k.as_str()).collect()
}

/// `GET /admin/instances/new`.
pub async fn new_form(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse, ConsoleError> {
    let chrome = Chrome::of(&state, &signed.csrf).await;
    let values = HashMap::from([("agent_timeout".to_owned(), "60".to_owned())]);
    let form = InstanceForm {
        chrome,
        editing: None,
        values,
        secrets_set: Vec::new(),
        kinds: kinds(),
        error: None,
    };
    render(200, &form)
}

/// The form's fields as the API's JSON body: blanks left out (a blank secret keeps it).
fn body_of(form: &HashMap<String, String>) -> Map<String, Value> {
    let mut body = Map::new();
    for field in TEXT_FIELDS.iter().chain(SECRET_FIELDS.iter()) {
        if let Some(value) = form.get(*field).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            body.insert((*field).to_owned(), Value::from(value));
        }
    }
    if let Some(timeout) = form
        .get("agent_timeout")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
    {
        let number = timeout
            .parse::<i64>()
            .map_or_else(|_| Value::from(timeout), Value::from);
        body.insert("agent_timeout".into(), number);
    }
    body.insert("is_default".into(), Value::from(form.contains_key("is_default")));
    body
}

/// The form's body as the API's request type, refused as the API refuses a body that does not
/// fit it.
fn from_form<T: serde::de::DeserializeOwned>(body: Map<String, Value>) -> Result<T, ApiError> {
    serde_json::from_value(Value::Object(body)).map_err(|e| ApiError::Validation {
        field: None,
        message: format!("the form does not fit: {e}"),
    })
}

/// The form again with what was typed (never the secrets) and the API's message.
async fn refused(
    state: &AppState,
    signed: &Signed,
    editing: Option<String>,
    form: &HashMap<String, String>,
    error: &ApiError,
) -> Result<HttpResponse, ConsoleError> {
    let mut values: HashMap<String, String> = form
        .iter()
        .filter(|(k, _)| !SECRET_FIELDS.contains(&k.as_str()) && k.as_str() != "csrf")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if editing.is_some() {
        values.remove("name");
    }
    let page = InstanceForm {
        chrome: Chrome::of(state, &signed.csrf).await,
        editing,
        values,
        secrets_set: Vec::new(),
        kinds: kinds(),
        error: Some(error.to_string()),
    };
    render(error.status_code().as_u16(), &page)
}

/// `POST /admin/instances`: creates, or shows the form with the API's message.
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    signed: Signed,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check(&req, &form)?;
    let attempt = async {
        let request: CreateInstanceRequest = from_form(body_of(&form))?;
        let new = NewInstanceInput::from(request).validate()?;
        state.admin_write(move |db| db.instances().create(&new)).await
    };
    match attempt.await {
        Ok(created) => Ok(see_other(&format!("/admin/instances/{}/connect", created.name))),
        Err(err) => refused(&state, &signed, None, &form, &err).await,
    }
}

/// `GET /admin/instances/{name}/edit`: the instance's fields; secrets only as "set".
pub async fn edit_form(
    state: web::Data<AppState>,
    signed: Signed,
    name: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let name = path_name(&name)?;
    let instance = state.db(move |db| db.instances().get(&name)).await?;
    let mut values = HashMap::new();
    let mut put = |k: &str, v: Option<String>| {
        values.insert(k.to_owned(), v.unwrap_or_default());
    };
    put("whatsapp_instance", Some(instance.whatsapp_instance.to_string()));
    put(
        "evolution_url",
        instance.evolution_url.as_ref().map(|u| u.to_string()),
    );
    put("agent_kind", Some(instance.agent_kind.as_str().to_owned()));
    put("agent_api_url", Some(instance.agent_api_url.to_string()));
    put("default_agent", Some(instance.default_agent.to_string()));
    put("session_id_prefix", instance.session_id_prefix.clone());
    put("agent_timeout", Some(instance.agent_timeout.secs().to_string()));
    if instance.is_default {
        put("is_default", Some("on".into()));
    }
    let secrets_set = [
        ("evolution_key", instance.evolution_key.is_some()),
        ("agent_api_key", instance.agent_api_key.is_some()),
        ("webhook_secret", instance.webhook_secret.is_some()),
    ]
    .into_iter()
    .filter(|(_, set)| *set)
    .map(|(k, _)| k.to_owned())
    .collect();
    let page = InstanceForm {
        chrome: Chrome::of(&state, &signed.csrf).await,
        editing: Some(instance.name.to_string()),
        values,
        secrets_set,
        kinds: kinds(),
        error: None,
    };
    render(200, &page)
}

/// `POST /admin/instances/{name}/edit`: changes the fields given (a blank secret is kept).
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    signed: Signed,
    name: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check(&req, &form)?;
    let name = path_name(&name)?;
    let shown = name.to_string();
    let attempt = async {
        let mut body = body_of(&form);
        body.remove("name");
        let request: UpdateInstanceRequest = from_form(body)?;
        let changes = InstanceChangesInput::from(request).validate()?;
        state
            .admin_write(move |db| db.instances().update(&name, &changes))
            .await
    };
    match attempt.await {
        Ok(updated) => Ok(see_other(&format!("/admin/instances/{}/connect", updated.name))),
        Err(err) => refused(&state, &signed, Some(shown), &form, &err).await,
    }
}
