//! Shared helpers: open a migrated database and build valid instances.

use omnihub_db::{Database, DatabaseUrl};
use omnihub_domain::{InstanceName, NewInstance, NewInstanceInput};
use omnihub_test_support::TestDb;

pub fn open(test_db: &TestDb) -> Database {
    let db = Database::connect(&DatabaseUrl::parse(test_db.url()).unwrap()).unwrap();
    db.migrate().unwrap();
    db
}

pub fn new_instance(name: &str) -> NewInstance {
    NewInstanceInput {
        name: name.into(),
        whatsapp_instance: format!("wa_{name}"),
        agent_api_url: "http://agents.local:8000".into(),
        agent_api_key: format!("agent-key-{name}-0123456789"),
        default_agent: "simple_agent".into(),
        ..Default::default()
    }
    .validate()
    .unwrap()
}

pub fn name(text: &str) -> InstanceName {
    InstanceName::parse(text).unwrap()
}
