//! The claim's cost with a hot chat: one chat with 10,000 queued messages beside 200 chats
//! with one each, on SQLite. The claim reads the per-chat queue index, so its cost must not
//! depend on the hot chat's backlog.

#![expect(missing_docs, reason = "criterion's macros generate undocumented items")]
#![expect(
    clippy::unwrap_used,
    reason = "a bench should stop loudly at the first unexpected error"
)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use omnihub_db::{ClaimRequest, Database, DatabaseUrl};
use omnihub_domain::{InboundMessage, InstanceName, NewInstanceInput};

fn message(id: String, chat: String) -> InboundMessage {
    omnihub_test_support::text_message(&id, &chat, &id)
}

fn setup(dir: &tempfile::TempDir) -> Database {
    let path = dir.path().join("claim.db");
    let db = Database::connect(&DatabaseUrl::parse(path.to_str().unwrap()).unwrap()).unwrap();
    db.migrate().unwrap();
    let instance = NewInstanceInput {
        name: "bench".into(),
        whatsapp_instance: "bench".into(),
        agent_api_url: "http://agent.invalid".into(),
        agent_api_key: "agent-key-0123456789".into(),
        default_agent: "bot".into(),
        ..Default::default()
    };
    db.instances().create(&instance.validate().unwrap()).unwrap();
    let name = InstanceName::parse("bench").unwrap();
    let hot: Vec<_> = (0..10_000)
        .map(|i| (name.clone(), message(format!("H{i}"), "hot@g.us".into())))
        .collect();
    for chunk in hot.chunks(1000) {
        db.messages().insert_batch(chunk).unwrap();
    }
    let others: Vec<_> = (0..200)
        .map(|i| (name.clone(), message(format!("O{i}"), format!("{i}@lid"))))
        .collect();
    db.messages().insert_batch(&others).unwrap();
    db
}

fn request(owner: &str, limit: usize) -> ClaimRequest {
    ClaimRequest {
        owner: owner.into(),
        lease: Duration::from_secs(3600),
        limit,
        capacity: None,
        leases: Vec::new(),
    }
}

fn claim(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(&dir);
    c.bench_function("claim 64 of 201 ready chats, one with 10,000 queued", |b| {
        b.iter_batched(
            || db.messages().release_all().unwrap(),
            |_| db.messages().claim(&request("bench", 64)).unwrap(),
            BatchSize::PerIteration,
        )
    });
    db.messages().release_all().unwrap();
    assert_eq!(db.messages().claim(&request("busy", 1000)).unwrap().len(), 201);
    c.bench_function("claim with every chat busy, one with 10,000 queued", |b| {
        b.iter(|| db.messages().claim(&request("bench", 64)).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(3));
    targets = claim
}
criterion_main!(benches);
