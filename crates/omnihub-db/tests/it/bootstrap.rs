//! Seeding the default instance from the seed's environment variables.

use std::collections::HashMap;

use omnihub_db::{bootstrap, BootstrapOutcome, DbError};
use omnihub_test_support::TestDb;

use crate::support::{new_instance, open};

/// Every scenario on SQLite and on PostgreSQL.
mod engines {
    use super::scenarios::*;
    omnihub_test_support::on_both_engines!(
        empty_table_and_env_create_the_default_once,
        empty_table_without_agent_url_seeds_nothing,
        rows_without_default_promote_the_oldest,
        invalid_seed_variables_are_reported_by_name,
    );
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

const SEED: &[(&str, &str)] = &[
    ("AGENT_API_URL", "http://agents:8000"),
    ("AGENT_API_KEY", "seed-agent-key-0123456789"),
    ("DEFAULT_AGENT_NAME", "sofia"),
    ("WHATSAPP_INSTANCE", "loja"),
];

pub mod scenarios {
    use super::*;

    pub fn empty_table_and_env_create_the_default_once(test_db: &TestDb) {
        let db = open(test_db);
        let first = bootstrap(&db, env(SEED)).unwrap();
        assert_eq!(first, BootstrapOutcome::Created("default".parse_name()));
        let created = db.instances().get_default().unwrap().unwrap();
        assert_eq!(created.default_agent.as_str(), "sofia");
        assert_eq!(created.whatsapp_instance.as_str(), "loja");
        assert_eq!(created.evolution_url, None);

        let second = bootstrap(&db, env(SEED)).unwrap();
        assert_eq!(second, BootstrapOutcome::AlreadyConfigured);
        assert_eq!(db.instances().list(0, 10).unwrap(), vec![created]);
    }

    pub fn empty_table_without_agent_url_seeds_nothing(test_db: &TestDb) {
        let db = open(test_db);
        assert_eq!(bootstrap(&db, env(&[])).unwrap(), BootstrapOutcome::NothingToSeed);
        assert_eq!(db.instances().count().unwrap(), 0);
    }

    pub fn rows_without_default_promote_the_oldest(test_db: &TestDb) {
        let db = open(test_db);
        db.instances().create(&new_instance("older")).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
        db.instances().create(&new_instance("newer")).unwrap();
        let clear = if test_db.is_postgres() { "FALSE" } else { "0" };
        test_db
            .execute(&format!("UPDATE instance_configs SET is_default = {clear}"))
            .unwrap();

        let outcome = bootstrap(&db, env(SEED)).unwrap();
        assert_eq!(outcome, BootstrapOutcome::Promoted("older".parse_name()));
        assert_eq!(
            db.instances().count().unwrap(),
            2,
            "no seed instance when rows exist"
        );
        assert_eq!(
            bootstrap(&db, env(SEED)).unwrap(),
            BootstrapOutcome::AlreadyConfigured
        );
    }

    pub fn invalid_seed_variables_are_reported_by_name(test_db: &TestDb) {
        let db = open(test_db);
        let err = bootstrap(
            &db,
            env(&[("AGENT_API_URL", "agents:8000"), ("AGENT_API_KEY", "k")]),
        )
        .unwrap_err();
        assert!(matches!(err, DbError::Invalid(_)), "{err:?}");
        assert!(err.to_string().contains("AGENT_API_URL"), "{err}");
        assert_eq!(db.instances().count().unwrap(), 0);
    }
}

trait ParseName {
    fn parse_name(&self) -> omnihub_domain::InstanceName;
}

impl ParseName for str {
    fn parse_name(&self) -> omnihub_domain::InstanceName {
        omnihub_domain::InstanceName::parse(self).unwrap()
    }
}
