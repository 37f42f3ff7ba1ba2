//! The instance store on both engines.

use std::time::Duration;

use omnihub_db::{Database, DatabaseUrl, DbError};
use omnihub_domain::{InstanceChangesInput, InstanceConfig};
use omnihub_test_support::TestDb;

use crate::support::{name, new_instance, open};

/// Every scenario on SQLite and on PostgreSQL.
mod engines {
    use super::scenarios::*;
    omnihub_test_support::on_both_engines!(
        create_get_list_and_delete,
        duplicate_name_is_a_conflict,
        absent_instances_are_not_found,
        first_instance_becomes_default_and_only_one_default_exists,
        database_refuses_a_second_default,
        concurrent_set_default_calls_leave_exactly_one_default,
        deleting_the_default_promotes_the_oldest,
        deleting_the_last_instance_needs_force,
        partial_update_leaves_other_fields_and_moves_updated_at,
        corrupt_rows_are_reported_not_hidden,
    );
}

fn defaults(db: &Database) -> Vec<String> {
    let all = db.instances().list(0, 1000).unwrap();
    all.iter()
        .filter(|i| i.is_default)
        .map(|i| i.name.to_string())
        .collect()
}

pub mod scenarios {
    use super::*;

    pub fn create_get_list_and_delete(test_db: &TestDb) {
        let db = open(test_db);
        let store = db.instances();
        assert!(store.list(0, 100).unwrap().is_empty());
        for n in ["charlie", "alpha", "Bravo"] {
            store.create(&new_instance(n)).unwrap();
        }
        let names: Vec<String> = store
            .list(0, 100)
            .unwrap()
            .iter()
            .map(|i| i.name.to_string())
            .collect();
        assert_eq!(names, ["Bravo", "alpha", "charlie"], "ordered by name, as typed");
        assert_eq!(store.list(1, 1).unwrap()[0].name.as_str(), "alpha");
        let got = store.get(&name("alpha")).unwrap();
        assert_eq!(got.whatsapp_instance.as_str(), "wa_alpha");
        assert_eq!(
            got.agent_api_key.as_ref().unwrap().expose(),
            "agent-key-alpha-0123456789"
        );
        assert_eq!(got.agent_timeout.secs(), 60);
        assert_eq!(got.evolution_url, None);
        let outcome = store.delete(&name("alpha"), false).unwrap();
        assert_eq!(outcome.deleted.as_str(), "alpha");
        assert_eq!(outcome.promoted, None);
        assert_eq!(store.count().unwrap(), 2);
    }

    pub fn duplicate_name_is_a_conflict(test_db: &TestDb) {
        let db = open(test_db);
        db.instances().create(&new_instance("dup")).unwrap();
        let err = db.instances().create(&new_instance("dup")).unwrap_err();
        assert!(matches!(err, DbError::Conflict(_)), "{err:?}");
        assert_eq!(err.to_string(), "an instance named 'dup' already exists");
        assert_eq!(
            db.instances().count().unwrap(),
            1,
            "the failed create left nothing behind"
        );
    }

    pub fn absent_instances_are_not_found(test_db: &TestDb) {
        let db = open(test_db);
        let store = db.instances();
        let ghost = name("ghost");
        let changes = InstanceChangesInput {
            agent_timeout: Some(5),
            ..Default::default()
        }
        .validate()
        .unwrap();
        for err in [
            store.get(&ghost).unwrap_err(),
            store.update(&ghost, &changes).unwrap_err(),
            store.set_default(&ghost).unwrap_err(),
            store.delete(&ghost, true).unwrap_err(),
        ] {
            assert!(matches!(err, DbError::NotFound { .. }), "{err:?}");
            assert_eq!(err.to_string(), "instance 'ghost' not found");
        }
        assert_eq!(store.get_default().unwrap(), None);
    }

    pub fn first_instance_becomes_default_and_only_one_default_exists(test_db: &TestDb) {
        let db = open(test_db);
        let store = db.instances();
        assert!(store.create(&new_instance("first")).unwrap().is_default);
        assert!(!store.create(&new_instance("second")).unwrap().is_default);
        let mut third = new_instance("third");
        third.is_default = true;
        assert!(store.create(&third).unwrap().is_default);
        assert_eq!(defaults(&db), ["third"]);
        store.set_default(&name("second")).unwrap();
        assert_eq!(defaults(&db), ["second"]);
        assert_eq!(store.get_default().unwrap().unwrap().name.as_str(), "second");
    }

    pub fn database_refuses_a_second_default(test_db: &TestDb) {
        let db = open(test_db);
        db.instances().create(&new_instance("one")).unwrap();
        db.instances().create(&new_instance("two")).unwrap();
        let sql = if test_db.is_postgres() {
            "UPDATE instance_configs SET is_default = TRUE"
        } else {
            "UPDATE instance_configs SET is_default = 1"
        };
        let err = test_db.execute(sql).unwrap_err();
        assert!(err.to_lowercase().contains("unique"), "{err}");
    }

    pub fn concurrent_set_default_calls_leave_exactly_one_default(test_db: &TestDb) {
        let db = open(test_db);
        for n in ["a", "b", "c", "d"] {
            db.instances().create(&new_instance(n)).unwrap();
        }
        std::thread::scope(|scope| {
            for n in ["a", "b", "c", "d"] {
                let db = db.clone();
                scope.spawn(move || {
                    for _ in 0..10 {
                        db.instances().set_default(&name(n)).unwrap();
                    }
                });
            }
        });
        assert_eq!(defaults(&db).len(), 1);
    }

    pub fn deleting_the_default_promotes_the_oldest(test_db: &TestDb) {
        let db = open(test_db);
        let store = db.instances();
        for n in ["zulu", "yankee", "xray"] {
            store.create(&new_instance(n)).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        store.set_default(&name("xray")).unwrap();
        let outcome = store.delete(&name("xray"), false).unwrap();
        assert_eq!(outcome.promoted.map(|n| n.to_string()).as_deref(), Some("zulu"));
        assert_eq!(defaults(&db), ["zulu"]);
    }

    pub fn deleting_the_last_instance_needs_force(test_db: &TestDb) {
        let db = open(test_db);
        let store = db.instances();
        store.create(&new_instance("only")).unwrap();
        let err = store.delete(&name("only"), false).unwrap_err();
        assert!(matches!(err, DbError::Conflict(_)), "{err:?}");
        assert!(err.to_string().contains("force"), "{err}");
        assert_eq!(store.count().unwrap(), 1);
        let outcome = store.delete(&name("only"), true).unwrap();
        assert_eq!(outcome.promoted, None);
        assert_eq!(store.count().unwrap(), 0);
    }

    pub fn partial_update_leaves_other_fields_and_moves_updated_at(test_db: &TestDb) {
        let db = open(test_db);
        let store = db.instances();
        let mut new = new_instance("edit");
        new.session_id_prefix = Some("wa-".into());
        let before = store.create(&new).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let changes = InstanceChangesInput {
            agent_timeout: Some(120),
            evolution_url: Some("https://evo.example.com".into()),
            session_id_prefix: Some(String::new()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        let after = store.update(&name("edit"), &changes).unwrap();
        assert_eq!(after.agent_timeout.secs(), 120);
        assert_eq!(
            after.evolution_url.as_ref().map(|u| u.as_str()),
            Some("https://evo.example.com")
        );
        assert_eq!(after.session_id_prefix, None);
        let untouched = |i: &InstanceConfig| {
            (
                i.agent_api_url.clone(),
                i.agent_api_key.clone(),
                i.default_agent.clone(),
                i.whatsapp_instance.clone(),
                i.created_at,
                i.is_default,
            )
        };
        assert_eq!(untouched(&after), untouched(&before));
        assert!(
            after.updated_at > before.updated_at,
            "{} > {}",
            after.updated_at,
            before.updated_at
        );

        let unchanged = store.update(&name("edit"), &Default::default()).unwrap();
        assert_eq!(unchanged, after, "an empty update changes nothing");
    }

    pub fn corrupt_rows_are_reported_not_hidden(test_db: &TestDb) {
        let db = open(test_db);
        test_db
            .execute(
                "INSERT INTO instance_configs (name, whatsapp_instance, agent_api_url, agent_api_key, default_agent) \
                 VALUES ('hand', 'wa', 'not-a-url', 'k', 'agent')",
            )
            .unwrap();
        let err = db.instances().get(&name("hand")).unwrap_err();
        assert!(matches!(err, DbError::Corrupt { .. }), "{err:?}");
        assert!(err.to_string().contains("agent_api_url"), "{err}");
    }
}

#[test]
fn unreachable_server_reports_the_driver_reason_without_password() {
    let url = DatabaseUrl::parse("postgres://omni:hunter2@127.0.0.1:1/omnihub").unwrap();
    let err = Database::connect(&url).unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("127.0.0.1") && !text.contains("hunter2"), "{text}");
    assert!(!text.contains("Invalid connection url"), "{text}");
}

#[test]
fn unwritable_sqlite_location_is_unavailable() {
    let url = DatabaseUrl::parse("/proc/omnihub/cannot/omnihub.db").unwrap();
    let err = Database::connect(&url).unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(err.to_string().contains("cannot create"), "{err}");
}
