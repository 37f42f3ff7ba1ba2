//! Conversation states and the agent settings of instances, on both engines.

use omnihub_db::StateUpdate;
use omnihub_domain::{AgentKind, InstanceChangesInput, NewInstanceInput};
use omnihub_test_support::TestDb;
use serde_json::json;

use crate::support::{name, new_instance, open};

omnihub_test_support::on_both_engines!(
    states_are_read_one_by_one_or_a_batch_at_once_listed_and_deleted,
    agent_kind_and_options_are_stored_merged_and_keep_their_secret,
);

fn put(db: &omnihub_db::Database, instance: &str, session: &str, turns: u64) {
    let update = StateUpdate {
        instance: instance.into(),
        session: session.into(),
        state: json!({"turns": turns}),
    };
    db.conversations().put(&update).unwrap();
}

fn states_are_read_one_by_one_or_a_batch_at_once_listed_and_deleted(test_db: &TestDb) {
    let db = open(test_db);
    for instance in ["a", "b"] {
        db.instances().create(&new_instance(instance)).unwrap();
    }
    put(&db, "a", "a_1", 1);
    put(&db, "a", "a_2", 2);
    put(&db, "b", "a_1", 7); // same session name, another instance
    put(&db, "a", "a_1", 3); // replaces
    let store = db.conversations();
    assert_eq!(store.get("a", "a_1").unwrap(), Some(json!({"turns": 3})));
    let keys = [
        ("a".to_owned(), "a_1".to_owned()),
        ("b".to_owned(), "a_2".to_owned()),
        ("a".to_owned(), "a_2".to_owned()),
    ];
    let batch = store.get_many(&keys).unwrap();
    assert_eq!(
        batch.len(),
        2,
        "b/a_2 has no state, and b/a_1 was not asked for: {batch:?}"
    );
    assert_eq!(batch[&("a".to_owned(), "a_1".to_owned())], json!({"turns": 3}));
    assert_eq!(batch[&("a".to_owned(), "a_2".to_owned())], json!({"turns": 2}));
    assert!(store.get_many(&[]).unwrap().is_empty());
    let listed: Vec<String> = store
        .list("a", 0, 10)
        .unwrap()
        .into_iter()
        .map(|c| c.session)
        .collect();
    assert_eq!(listed.len(), 2);
    assert!(store.delete("a", "a_1").unwrap());
    assert!(!store.delete("a", "a_1").unwrap(), "already gone");
    assert_eq!(
        store.get("b", "a_1").unwrap(),
        Some(json!({"turns": 7})),
        "the other instance keeps its own"
    );
}

fn agent_kind_and_options_are_stored_merged_and_keep_their_secret(test_db: &TestDb) {
    let db = open(test_db);
    let input = NewInstanceInput {
        name: "bot".into(),
        whatsapp_instance: "bot".into(),
        agent_api_url: "http://n8n.local/webhook/x".into(),
        default_agent: "flow".into(),
        agent_kind: Some("n8n".into()),
        agent_options: Some(json!({"basic_auth_user": "u", "basic_auth_password": "n8n-password-0001"})),
        ..Default::default()
    };
    let created = db.instances().create(&input.validate().unwrap()).unwrap();
    assert_eq!(
        (created.agent_kind, created.agent_api_key.clone()),
        (AgentKind::N8n, None)
    );
    let stored = db.instances().get(&name("bot")).unwrap();
    assert_eq!(
        stored
            .agent_options
            .basic_auth_password
            .as_ref()
            .unwrap()
            .expose(),
        "n8n-password-0001"
    );
    let change = |body: serde_json::Value| -> InstanceChangesInput { serde_json::from_value(body).unwrap() };
    let switched = db
        .instances()
        .update(
            &name("bot"),
            &change(json!({"agent_kind": "openai", "agent_options": {"history_turns": 4}}))
                .validate()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        (switched.agent_kind, switched.agent_options.history_turns),
        (AgentKind::Openai, Some(4))
    );
    assert_eq!(
        switched.agent_options.basic_auth_user, None,
        "a new kind starts from the given options"
    );
    let merged = db
        .instances()
        .update(
            &name("bot"),
            &change(json!({"agent_kind": "openai", "agent_options": {"temperature": 0.5}}))
                .validate()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        merged.agent_options.history_turns,
        Some(4),
        "the same kind merges"
    );
    let keyless = db.instances().update(
        &name("bot"),
        &change(json!({"agent_kind": "dify"})).validate().unwrap(),
    );
    assert!(
        matches!(keyless, Err(omnihub_db::DbError::Conflict(ref m)) if m.contains("agent_api_key")),
        "{keyless:?}"
    );
}
