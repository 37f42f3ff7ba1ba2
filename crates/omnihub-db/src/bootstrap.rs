//! Seeding the default instance from the environment (the seed's `.env` compatibility).

use omnihub_domain::{seed_instance_from_env, InstanceName};

use crate::{Database, DbError};

/// What [`bootstrap`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootstrapOutcome {
    /// The table was empty and `AGENT_API_URL` was set: this default instance was created.
    Created(InstanceName),
    /// Instances existed without a default: the oldest was promoted.
    Promoted(InstanceName),
    /// A default instance already exists; nothing changed.
    AlreadyConfigured,
    /// The table is empty and `AGENT_API_URL` is not set; nothing to seed.
    NothingToSeed,
}

/// Seeds the database from the seed's variables read through `lookup`. Idempotent.
///
/// - table empty and `AGENT_API_URL` set: create instance `default` from `AGENT_API_URL`,
///   `AGENT_API_KEY`, `DEFAULT_AGENT_NAME`, `AGENT_API_TIMEOUT`, `WHATSAPP_INSTANCE`,
///   `SESSION_ID_PREFIX`, `EVOLUTION_API_URL`, `EVOLUTION_API_KEY`, as the default;
/// - instances exist but none is the default: promote the oldest;
/// - otherwise change nothing.
pub fn bootstrap(
    db: &Database,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<BootstrapOutcome, DbError> {
    let store = db.instances();
    if store.count()? == 0 {
        let Some(seed) = seed_instance_from_env(lookup)? else {
            return Ok(BootstrapOutcome::NothingToSeed);
        };
        // Another process may have seeded meanwhile; create_if_empty re-checks atomically.
        if let Some(created) = store.create_if_empty(&seed)? {
            return Ok(BootstrapOutcome::Created(created.name));
        }
    }
    Ok(match store.ensure_default()? {
        Some(promoted) => BootstrapOutcome::Promoted(promoted),
        None => BootstrapOutcome::AlreadyConfigured,
    })
}
