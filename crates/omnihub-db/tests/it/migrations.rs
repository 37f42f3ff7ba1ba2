//! Migrations: up, down and up again on both engines; the folders stay in step.

use omnihub_db::embedded_migration_versions;
use omnihub_test_support::TestDb;

use crate::support::{new_instance, open};

/// Every scenario on SQLite and on PostgreSQL.
mod engines {
    use super::scenarios::*;
    omnihub_test_support::on_both_engines!(up_down_up);
}

pub mod scenarios {
    use super::*;

    pub fn up_down_up(test_db: &TestDb) {
        let db = open(test_db);
        assert!(
            db.migrate().unwrap().is_empty(),
            "second run finds nothing pending"
        );
        db.instances().create(&new_instance("a")).unwrap();

        let reverted = db.revert_all_migrations().unwrap();
        assert!(!reverted.is_empty());
        assert!(db.instances().count().is_err(), "the table is gone after down");

        let applied = db.migrate().unwrap();
        assert_eq!(applied.len(), reverted.len());
        assert_eq!(db.instances().count().unwrap(), 0);
        db.instances().create(&new_instance("a")).unwrap();
    }
}

#[test]
fn both_engines_have_the_same_migration_versions() {
    let (sqlite, postgres) = embedded_migration_versions().unwrap();
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
}
