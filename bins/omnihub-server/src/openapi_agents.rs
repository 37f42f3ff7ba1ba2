//! The agent settings in the OpenAPI document: which `agent_options` each `agent_kind`
//! takes, as `oneOf` branches keyed by the kind, so a generated client (or a fuzzer) knows
//! exactly what the server accepts. Written as JSON because the rules cross fields.

use omnihub_domain::rules::SECRET;
use omnihub_domain::{AgentKind, MAX_INPUTS};
use serde_json::{json, Value};

/// Adds the per-kind rules to the instance bodies of `document` and the text rule of the
/// test-agent body.
pub fn constrain(document: &mut Value) {
    let Some(schemas) = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (name, update) in [("CreateInstanceRequest", false), ("UpdateInstanceRequest", true)] {
        let Some(body) = schemas.get_mut(name).and_then(Value::as_object_mut) else {
            continue;
        };
        if let Some(properties) = body.get_mut("properties").and_then(Value::as_object_mut) {
            let mut kinds: Vec<Value> = AgentKind::ALL.iter().map(|k| json!(k.as_str())).collect();
            kinds.push(Value::Null);
            properties.insert(
                "agent_kind".into(),
                json!({"type": ["string", "null"], "enum": kinds}),
            );
            properties.insert("agent_options".into(), json!({"type": ["object", "null"]}));
        }
        let branches: Vec<Value> = if update {
            update_branches()
        } else {
            create_branches()
        };
        body.insert("oneOf".into(), Value::Array(branches));
    }
    if let Some(text) = schemas
        .get_mut("TestAgentRequest")
        .and_then(|s| s.pointer_mut("/properties/text"))
    {
        text["minLength"] = json!(1);
        text["maxLength"] = json!(4096);
    }
}

/// A create names its kind (absent means `automagik`) with that kind's options; `automagik`
/// and `dify` need a key.
fn create_branches() -> Vec<Value> {
    AgentKind::ALL
        .iter()
        .map(|&kind| {
            let mut branch = json!({"properties": {"agent_options": options_schema(kind, false)}});
            if kind == AgentKind::Automagik {
                branch["properties"]["agent_kind"] = json!({"enum": ["automagik", null]});
            } else {
                branch["properties"]["agent_kind"] = json!({"const": kind.as_str()});
                branch["required"] = json!(["agent_kind"]);
            }
            if kind.needs_key() {
                branch["properties"]["agent_api_key"] = json!({"type": "string", "minLength": 1});
                let required = branch["required"].as_array().cloned().unwrap_or_default();
                let mut required: Vec<Value> = required;
                required.push(json!("agent_api_key"));
                branch["required"] = Value::Array(required);
            }
            branch
        })
        .collect()
}

/// An update leaves the agent alone, or names the kind with options for it (`null` removes
/// a stored option of the same kind).
fn update_branches() -> Vec<Value> {
    let mut branches =
        vec![json!({"properties": {"agent_kind": {"type": "null"}, "agent_options": {"type": "null"}}})];
    branches.extend(AgentKind::ALL.iter().map(|&kind| {
        json!({
            "required": ["agent_kind"],
            "properties": {"agent_kind": {"const": kind.as_str()}, "agent_options": options_schema(kind, true)},
        })
    }));
    branches
}

/// The options object of `kind`; in updates each option may be `null` (remove it).
fn options_schema(kind: AgentKind, update: bool) -> Value {
    let nullable = |mut schema: Value| {
        if update {
            let kind = schema["type"].clone();
            schema["type"] = json!([kind, "null"]);
        }
        schema
    };
    let secret =
        json!({"type": "string", "minLength": 1, "maxLength": SECRET.max_chars, "pattern": SECRET.pattern});
    let properties = match kind {
        AgentKind::Openai => json!({
            "system_prompt": nullable(json!({"type": "string", "minLength": 1, "maxLength": 20_000})),
            "history_turns": nullable(json!({"type": "integer", "minimum": 0, "maximum": 100})),
            "temperature": nullable(json!({"type": "number", "minimum": 0, "maximum": 2})),
            "max_tokens": nullable(json!({"type": "integer", "minimum": 1, "maximum": 1_000_000})),
        }),
        AgentKind::Dify => json!({
            "app_type": nullable(json!({"type": "string", "enum": ["chat", "agent", "workflow"]})),
            "inputs": nullable(json!({"type": "object", "maxProperties": MAX_INPUTS})),
            "workflow_output": nullable(json!({"type": "string", "minLength": 1, "maxLength": 200})),
        }),
        AgentKind::N8n => json!({
            "basic_auth_user": nullable(json!({"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[^:]*$"})),
            "basic_auth_password": nullable(secret),
        }),
        AgentKind::Typebot => json!({
            "expire_minutes": nullable(json!({"type": "integer", "minimum": 1, "maximum": 43_200})),
        }),
        AgentKind::Automagik | AgentKind::Flowise | AgentKind::Webhook => {
            return json!({"type": ["object", "null"], "maxProperties": 0});
        }
    };
    let mut schema =
        json!({"type": ["object", "null"], "additionalProperties": false, "properties": properties});
    if kind == AgentKind::N8n {
        // The Basic auth pair is given together (both set, or in an update both removed).
        let pair = |t: &str| {
            json!({"required": ["basic_auth_user", "basic_auth_password"],
            "properties": {"basic_auth_user": {"type": t}, "basic_auth_password": {"type": t}}})
        };
        let mut either = vec![pair("string"), json!({"maxProperties": 0})];
        if update {
            either.push(pair("null"));
        }
        schema["anyOf"] = Value::Array(either);
    }
    schema
}
