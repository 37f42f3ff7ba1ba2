//! A fake Evolution server's instances, as a state machine with Evolution's real shapes and
//! status codes: create (403 when the name is in use), connect with rotating QR codes,
//! connectionState, fetchInstances, webhook set/find, restart (the 200 `{"error": true}` on a
//! closed instance), logout, delete, sendText, and 503 `LICENSE_REQUIRED` until activated.
//! Each call may emit lifecycle webhooks to the instance's configured URL and headers; the
//! transport (a std server in tests, actix in the sandbox) delivers them.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use serde_json::{json, Value};

/// A webhook the fake wants delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Where (the instance's webhook URL).
    pub url: String,
    /// Headers to send (the instance's webhook headers).
    pub headers: Vec<(String, String)>,
    /// The envelope.
    pub body: Value,
}

/// An answer and the webhooks the call emitted.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
    /// Lifecycle webhooks to deliver.
    pub deliveries: Vec<Delivery>,
}

impl Answer {
    pub(crate) fn new(status: u16, body: Value) -> Self {
        Self {
            status,
            body,
            deliveries: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Instance {
    /// In Evolution's database but not loaded in memory: no state, and `connect` fails
    /// with a 200 `{"error": true}`.
    pub(crate) unloaded: bool,
    pub(crate) id: String,
    pub(crate) state: &'static str,
    pub(crate) qr_count: u32,
    pub(crate) pairing_number: Option<String>,
    pub(crate) webhook: Option<Value>,
    pub(crate) owner: Option<String>,
    pub(crate) profile_name: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct World {
    pub(crate) instances: BTreeMap<String, Instance>,
    not_activated: bool,
}

/// The fake's instances. Shared by a transport; every method takes `&self`.
#[derive(Debug)]
pub struct EvolutionWorld {
    key: String,
    base_url: Mutex<String>,
    world: Mutex<World>,
}

pub(crate) fn error(status: u16, label: &str, message: &str) -> Answer {
    Answer::new(
        status,
        json!({"status": status, "error": label, "response": {"message": [message]}}),
    )
}

pub(crate) fn not_found(name: &str) -> Answer {
    error(
        404,
        "Not Found",
        &format!("The \"{name}\" instance does not exist"),
    )
}

impl EvolutionWorld {
    /// A fake whose global API key is `key`, with no instance.
    pub fn new(key: &str) -> Self {
        Self {
            key: key.to_owned(),
            base_url: Mutex::new(String::new()),
            world: Mutex::default(),
        }
    }

    /// The URL the fake is reached at (put in webhook envelopes as `server_url`).
    pub fn set_base_url(&self, url: &str) {
        *self.base_url.lock().unwrap_or_else(PoisonError::into_inner) = url.to_owned();
    }

    pub(crate) fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `false` makes every business route answer 503 `LICENSE_REQUIRED` (Evolution 2.4).
    pub fn set_activated(&self, activated: bool) {
        self.world().not_activated = !activated;
    }

    /// Adds an instance that exists already (for discovery and import), `open` with `number`
    /// or `close` without.
    pub fn add_instance(&self, name: &str, number: Option<&str>) {
        let instance = Instance {
            unloaded: false,
            id: format!("id-{name}"),
            state: if number.is_some() { "open" } else { "close" },
            qr_count: 0,
            pairing_number: None,
            webhook: None,
            owner: number.map(|n| format!("{n}@s.whatsapp.net")),
            profile_name: number.map(|_| format!("Profile {name}")),
        };
        self.world().instances.insert(name.to_owned(), instance);
    }

    /// Makes `name` an instance Evolution has in its database but not in memory.
    pub fn set_unloaded(&self, name: &str) {
        if let Some(instance) = self.world().instances.get_mut(name) {
            instance.unloaded = true;
        }
    }

    /// The state of `name` (`open`, `connecting`, `close`), if it exists.
    pub fn state(&self, name: &str) -> Option<&'static str> {
        self.world().instances.get(name).map(|i| i.state)
    }

    /// The webhook row of `name` as `webhook/find` answers it.
    pub fn webhook(&self, name: &str) -> Option<Value> {
        self.world().instances.get(name).and_then(|i| i.webhook.clone())
    }

    /// The phone scans the QR: `name` becomes `open` on `number`, and a `connection.update`
    /// is emitted. `None` when the instance is not waiting for a scan.
    pub fn scan(&self, name: &str, number: &str) -> Option<Vec<Delivery>> {
        let mut world = self.world();
        let instance = world
            .instances
            .get_mut(name)
            .filter(|i| i.state == "connecting")?;
        instance.state = "open";
        instance.owner = Some(format!("{number}@s.whatsapp.net"));
        instance.profile_name = Some(format!("Phone {number}"));
        let data = json!({"instance": name, "wuid": instance.owner, "profileName": instance.profile_name,
                          "profilePictureUrl": null, "state": "open", "statusReason": 200});
        let delivery = self.delivery(name, instance, "connection.update", data);
        Some(delivery.into_iter().collect())
    }

    /// The connection drops for good with `code` (e.g. 401, logged out on the phone): `close`
    /// and a `connection.update`. `None` for an unknown instance.
    pub fn drop_connection(&self, name: &str, code: u16) -> Option<Vec<Delivery>> {
        let mut world = self.world();
        let instance = world.instances.get_mut(name)?;
        instance.state = "close";
        let data = json!({"instance": name, "state": "close", "statusReason": code});
        Some(
            self.delivery(name, instance, "connection.update", data)
                .into_iter()
                .collect(),
        )
    }

    /// Answers one request; `None` when the path is not an Evolution route the fake knows.
    pub fn handle(
        &self,
        method: &str,
        path_and_query: &str,
        apikey: Option<&str>,
        body: &Value,
    ) -> Option<Answer> {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        let segments: Vec<String> = path.trim_matches('/').split('/').map(percent_decode).collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let known = matches!(
            (method, segments.as_slice()),
            ("POST", ["instance", "create"])
                | ("GET", ["instance", "connect" | "connectionState", _])
                | ("GET", ["instance", "fetchInstances"])
                | ("POST", ["instance", "restart", _])
                | ("DELETE", ["instance", "logout" | "delete", _])
                | ("POST", ["webhook", "set", _])
                | ("GET", ["webhook", "find", _])
                | ("POST", ["message", "sendText" | "sendMedia", _])
                | ("POST", ["chat", "sendPresence", _])
        );
        if !known {
            return None;
        }
        if self.world().not_activated {
            return Some(Answer::new(
                503,
                json!({"error": "service not activated", "code": "LICENSE_REQUIRED",
                "register_url": "https://evolution.example/manager/login", "instance_id": "00000000-0000-0000-0000-000000000000",
                "message": "This Evolution API server must be activated"}),
            ));
        }
        if apikey != Some(self.key.as_str()) {
            return Some(error(401, "Unauthorized", "Unauthorized"));
        }
        let param = |name: &str| {
            query
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .find(|(k, _)| *k == name)
                .map(|(_, v)| percent_decode(v))
        };
        Some(match (method, segments.as_slice()) {
            ("POST", ["instance", "create"]) => self.create(body),
            ("GET", ["instance", "connect", name]) => self.connect(name, param("number")),
            ("GET", ["instance", "connectionState", name]) => self.with(name, |_, i| {
                if i.unloaded {
                    return Answer::new(200, json!({"instance": {"instanceName": name}}));
                }
                Answer::new(200, json!({"instance": {"instanceName": name, "state": i.state}}))
            }),
            ("GET", ["instance", "fetchInstances"]) => self.fetch(param("instanceName")),
            ("POST", ["instance", "restart", name]) => self.restart(name),
            ("DELETE", ["instance", "logout", name]) => self.logout(name),
            ("DELETE", ["instance", "delete", name]) => self.delete(name),
            ("POST", ["webhook", "set", name]) => self.set_webhook(name, body),
            ("GET", ["webhook", "find", name]) => self.with(name, |_, i| {
                Answer::new(200, i.webhook.clone().unwrap_or(Value::Null))
            }),
            (_, [_, _, name]) => self.with(name, |_, i| {
                if i.state == "open" {
                    Answer::new(
                        201,
                        json!({"key": {"id": "OUT1", "fromMe": true}, "status": "PENDING"}),
                    )
                } else {
                    error(400, "Bad Request", "Connection Closed")
                }
            }),
            _ => error(404, "Not Found", "Cannot find the route"),
        })
    }
}

/// `%20` and friends back to characters.
fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

impl EvolutionWorld {
    pub(crate) fn with(&self, name: &str, f: impl FnOnce(&Self, &mut Instance) -> Answer) -> Answer {
        let mut world = self.world();
        match world.instances.get_mut(name) {
            Some(instance) => f(self, instance),
            None => not_found(name),
        }
    }

    /// The envelope of `event` for `instance`, to its webhook when it has an enabled one.
    pub(crate) fn delivery(
        &self,
        name: &str,
        instance: &Instance,
        event: &str,
        data: Value,
    ) -> Option<Delivery> {
        let webhook = instance.webhook.as_ref().filter(|w| w["enabled"] == true)?;
        let url = webhook["url"]
            .as_str()
            .filter(|u| u.starts_with("http"))?
            .to_owned();
        let headers = webhook["headers"]
            .as_object()
            .map(|h| {
                h.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let server_url = self
            .base_url
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let body = json!({"event": event, "instance": name, "data": data, "destination": url,
                          "date_time": "2026-12-02T12:00:00.000Z", "server_url": server_url, "apikey": "instance-token"});
        Some(Delivery { url, headers, body })
    }
}
