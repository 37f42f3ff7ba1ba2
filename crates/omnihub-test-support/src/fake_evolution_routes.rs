//! The management routes of [`EvolutionWorld`], each with Evolution's shapes and codes
//! (`evolution-lifecycle-and-rules.md` §B).

use serde_json::{json, Value};

use crate::fake_evolution::{error, Answer, EvolutionWorld, Instance};

/// A tiny valid PNG (1×1), as Evolution's `base64` data URI.
const PNG: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

impl EvolutionWorld {
    /// A new QR for `instance` (Baileys rotates them): its object and the `qrcode.updated`.
    fn next_qr(
        &self,
        name: &str,
        instance: &mut Instance,
    ) -> (Value, Option<crate::fake_evolution::Delivery>) {
        instance.state = "connecting";
        instance.qr_count += 1;
        let count = instance.qr_count;
        let code = format!("2@fake-{name}-{count},cXVpY2sgYnJvd24=,Zm94IGp1bXBz,b3ZlciB0aGU=");
        let pairing = instance
            .pairing_number
            .as_ref()
            .map(|_| format!("PAIR{count:04}"));
        let qr = json!({"pairingCode": pairing, "code": code, "base64": PNG, "count": count});
        let event =
            json!({"qrcode": {"instance": name, "pairingCode": pairing, "code": code, "base64": PNG}});
        let delivery = self.delivery(name, instance, "qrcode.updated", event);
        (qr, delivery)
    }

    pub(crate) fn create(&self, body: &Value) -> Answer {
        let Some(name) = body["instanceName"]
            .as_str()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        else {
            return error(400, "Bad Request", "instanceName is required");
        };
        if !matches!(
            body["integration"].as_str(),
            Some("WHATSAPP-BAILEYS" | "WHATSAPP-BUSINESS" | "EVOLUTION")
        ) {
            return error(400, "Bad Request", "Invalid integration");
        }
        let webhook = body.get("webhook").filter(|w| w.is_object());
        if webhook.is_some_and(|w| !w["events"].is_array()) {
            return error(
                400,
                "Bad Request",
                "Cannot read properties of undefined (reading 'length')",
            );
        }
        let number = body["number"].as_str().map(str::to_owned);
        let mut instance = Instance {
            unloaded: false,
            id: format!("id-{name}"),
            state: "close",
            qr_count: 0,
            pairing_number: number,
            webhook: webhook.map(|w| webhook_row(name, w, true)),
            owner: None,
            profile_name: None,
        };
        let (qr, delivery) = if body["qrcode"] == true {
            let (qr, delivery) = self.next_qr(name, &mut instance);
            (Some(qr), delivery)
        } else {
            (None, None)
        };
        let mut world = self.world();
        if world.instances.contains_key(name) {
            return error(
                403,
                "Forbidden",
                &format!("This name \"{name}\" is already in use."),
            );
        }
        let mut answer = json!({
            "instance": {"instanceName": name, "instanceId": instance.id, "integration": body["integration"],
                         "webhookWaBusiness": null, "accessTokenWaBusiness": "", "status": instance.state},
            "hash": "8F1C0E6B2D6A4C1E9E7B3A2D5C4B1A00",
            "webhook": instance.webhook.as_ref().map_or(json!({}), |w| json!({"webhookUrl": w["url"], "webhookHeaders": w["headers"],
                "webhookByEvents": w["webhookByEvents"], "webhookBase64": w["webhookBase64"]})),
            "websocket": {}, "rabbitmq": {}, "nats": {}, "sqs": {},
            "settings": {"rejectCall": false, "msgCall": "", "groupsIgnore": false, "alwaysOnline": false,
                         "readMessages": false, "readStatus": false, "syncFullHistory": false, "wavoipToken": ""}
        });
        if let Some(qr) = qr {
            answer["qrcode"] = qr;
        }
        world.instances.insert(name.to_owned(), instance);
        let mut answer = Answer::new(201, answer);
        answer.deliveries.extend(delivery);
        answer
    }

    pub(crate) fn connect(&self, name: &str, number: Option<String>) -> Answer {
        self.with(name, |world, instance| {
            if instance.unloaded {
                return Answer::new(200, json!({"error": true, "message": "[object Object]"}));
            }
            if instance.state == "open" {
                return Answer::new(200, json!({"instance": {"instanceName": name, "state": "open"}}));
            }
            if number.is_some() {
                instance.pairing_number = number;
            }
            let (qr, delivery) = world.next_qr(name, instance);
            let mut answer = Answer::new(200, qr);
            answer.deliveries.extend(delivery);
            answer
        })
    }

    pub(crate) fn fetch(&self, only: Option<String>) -> Answer {
        let world = self.world();
        if let Some(name) = &only {
            if !world.instances.contains_key(name) {
                return error(404, "Not Found", &format!("Instance \"{name}\" not found"));
            }
        }
        let rows: Vec<Value> = world
            .instances
            .iter()
            .filter(|(name, _)| only.as_ref().is_none_or(|o| o == *name))
            .map(|(name, i)| {
                json!({"id": i.id, "name": name, "connectionStatus": i.state, "ownerJid": i.owner,
                       "profileName": i.profile_name, "profilePicUrl": null, "integration": "WHATSAPP-BAILEYS",
                       "number": i.pairing_number, "token": "instance-token", "clientName": "evolution_exchange",
                       "disconnectionReasonCode": null, "Setting": {}, "_count": {"Message": 0, "Contact": 0, "Chat": 0}})
            })
            .collect();
        Answer::new(200, Value::Array(rows))
    }

    pub(crate) fn restart(&self, name: &str) -> Answer {
        self.with(name, |world, instance| {
            if instance.state == "close" {
                // Evolution's exception objects lose their text in a 200.
                return Answer::new(200, json!({"error": true, "message": "[object Object]"}));
            }
            let (qr, delivery) = world.next_qr(name, instance);
            let mut answer = Answer::new(200, qr);
            answer.deliveries.extend(delivery);
            answer
        })
    }

    pub(crate) fn logout(&self, name: &str) -> Answer {
        self.with(name, |world, instance| {
            if instance.state == "close" {
                return Answer::new(
                    200,
                    json!({"status": "SUCCESS", "error": false,
                    "response": {"message": "Instance was already disconnected"}}),
                );
            }
            instance.state = "close";
            instance.owner = None;
            let mut answer = Answer::new(
                200,
                json!({"status": "SUCCESS", "error": false,
                "response": {"message": "Instance logged out"}}),
            );
            answer
                .deliveries
                .extend(world.delivery(name, instance, "logout.instance", Value::Null));
            answer
        })
    }

    pub(crate) fn delete(&self, name: &str) -> Answer {
        let mut world = self.world();
        let Some(instance) = world.instances.remove(name) else {
            return crate::fake_evolution::not_found(name);
        };
        let mut answer = Answer::new(
            200,
            json!({"status": "SUCCESS", "error": false,
            "response": {"message": "Instance deleted"}}),
        );
        answer
            .deliveries
            .extend(self.delivery(name, &instance, "remove.instance", Value::Null));
        answer
    }

    pub(crate) fn set_webhook(&self, name: &str, body: &Value) -> Answer {
        let webhook = &body["webhook"];
        if webhook["enabled"].as_bool().is_none() || webhook["url"].as_str().is_none_or(str::is_empty) {
            return error(400, "Bad Request", "webhook.enabled and webhook.url are required");
        }
        self.with(name, |_, instance| {
            let row = webhook_row(name, webhook, webhook["enabled"] == true);
            instance.webhook = Some(row.clone());
            Answer::new(201, row)
        })
    }
}

/// The stored row for a webhook setting: `enabled: false` stores no events.
fn webhook_row(name: &str, webhook: &Value, enabled: bool) -> Value {
    let events = if enabled {
        webhook["events"].clone()
    } else {
        json!([])
    };
    json!({"id": format!("wh-{name}"), "url": webhook["url"], "headers": webhook["headers"], "enabled": enabled,
           "events": events, "webhookByEvents": webhook["byEvents"].as_bool().unwrap_or(false),
           "webhookBase64": webhook["base64"].as_bool().unwrap_or(false), "instanceId": format!("id-{name}")})
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "evo-global-key";

    fn call(world: &EvolutionWorld, method: &str, path: &str, body: Value) -> Answer {
        world
            .handle(method, path, Some(KEY), &body)
            .expect("a known route")
    }

    #[test]
    fn the_lifecycle_has_evolutions_codes() {
        let world = EvolutionWorld::new(KEY);
        let create = json!({"instanceName": "shop", "integration": "WHATSAPP-BAILEYS", "qrcode": true,
                            "webhook": {"url": "http://hub/webhook/evolution/shop", "events": [], "headers": {}}});
        let created = call(&world, "POST", "/instance/create", create.clone());
        assert_eq!(created.status, 201);
        assert_eq!(created.body["qrcode"]["count"], 1);
        assert_eq!(created.deliveries.len(), 1, "qrcode.updated");
        assert_eq!(call(&world, "POST", "/instance/create", create).status, 403);
        let again = call(&world, "GET", "/instance/connect/shop", Value::Null);
        assert_eq!(again.body["count"], 2, "a new QR each time");
        assert_ne!(again.body["code"], created.body["qrcode"]["code"]);
        assert!(world.scan("shop", "5511988887777").is_some());
        let state = call(&world, "GET", "/instance/connectionState/shop", Value::Null);
        assert_eq!(state.body["instance"]["state"], "open");
        assert_eq!(
            call(&world, "DELETE", "/instance/logout/shop", Value::Null).status,
            200
        );
        let restart = call(&world, "POST", "/instance/restart/shop", Value::Null);
        assert_eq!(
            (restart.status, restart.body["error"].clone()),
            (200, json!(true))
        );
        assert_eq!(
            call(&world, "GET", "/instance/connect/ghost", Value::Null).status,
            404
        );
        assert_eq!(
            world
                .handle("GET", "/instance/fetchInstances", Some("wrong"), &Value::Null)
                .unwrap()
                .status,
            401
        );
        world.set_activated(false);
        let refused = call(&world, "GET", "/instance/fetchInstances", Value::Null);
        assert_eq!(
            (refused.status, refused.body["code"].clone()),
            (503, json!("LICENSE_REQUIRED"))
        );
        assert!(world
            .handle("GET", "/nothing/here", Some(KEY), &Value::Null)
            .is_none());
    }
}
