//! The webhook hot path without I/O: envelope parsing, message extraction and
//! classification, on every captured `messages.upsert` fixture.

#![expect(missing_docs, reason = "criterion's macros generate undocumented items")]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use omnihub_core::{classify, Decision};
use omnihub_evolution::{parse_envelope, parse_upserts};

macro_rules! fixture {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("../../../tests/fixtures/evolution/", $name)).as_slice(),
        )
    };
}

const FIXTURES: [(&str, &[u8]); 8] = [
    fixture!("v2_text.json"),
    fixture!("v2_text_2.json"),
    fixture!("v2_text_quoted_reply.json"),
    fixture!("v2_text_senderlid.json"),
    fixture!("v2_image_base64.json"),
    fixture!("v2_image_base64_2.json"),
    fixture!("v2_audio_mediaurl.json"),
    fixture!("v1_extended_text_quoted.json"),
];

fn parse_and_classify(body: &[u8]) -> usize {
    let envelope = parse_envelope(body).unwrap_or_else(|e| panic!("fixture: {e}"));
    let upserts = parse_upserts(&envelope.data).unwrap_or_else(|e| panic!("fixture: {e}"));
    upserts
        .into_iter()
        .filter(|u| matches!(classify(u.clone()), Decision::Accept(..)))
        .count()
}

fn webhook(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_and_classify");
    for (name, body) in FIXTURES {
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(name, |b| b.iter(|| parse_and_classify(black_box(body))));
    }
    group.finish();
    let (_, text) = FIXTURES[0];
    let envelope = parse_envelope(text).unwrap_or_else(|e| panic!("fixture: {e}"));
    let upsert = parse_upserts(&envelope.data)
        .unwrap_or_else(|e| panic!("fixture: {e}"))
        .remove(0);
    c.bench_function("classify_only/v2_text", |b| {
        b.iter(|| classify(black_box(upsert.clone())))
    });
}

criterion_group!(benches, webhook);
criterion_main!(benches);
