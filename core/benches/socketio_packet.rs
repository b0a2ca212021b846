//! Socket.IO EVENT packets of about 100 B and 10 KiB, decoded and encoded by the core, beside
//! `serde_json` doing only the JSON part for the same value and a `memcpy` of the packet's
//! bytes.
//!
//! The JSON is the bulk of an EVENT. The core's decoder is `serde_json` plus the packet
//! header and socket.io-parser's validation, and its encoder is `serde_json` plus the header.
//! The gap between the core and `serde_json` is what the protocol costs, and `memcpy` is the
//! floor under both. A broadcast is encoded once for the whole room (`io/src/fanout.rs`), so
//! encoding is paid per event. Decoding is paid per received event.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gif_chat_core::socketio::packet::{encode_event, Packet};
use gif_chat_core::socketio::Args;
use serde_json::{json, Value};

/// Attachments a client may announce; EVENTs here carry none.
const MAX_ATTACHMENTS: usize = 10;

/// A relayed chat line whose EVENT text, `2["chat",{…}]`, is `size` bytes long.
fn chat_payload(size: usize) -> Value {
    let with_text = |text: String| json!({"room": "r7", "t": 1_764_561_600_000_u64, "text": text});
    let bare = encode_event(
        "/",
        None,
        "chat",
        &Args::json(vec![with_text(String::new())]),
        None,
    );
    let filler = "The quick brown fox jumps over the lazy dog. ".repeat(size / 45 + 1);
    with_text(filler[..size.saturating_sub(bare.len())].to_owned())
}

fn bench_event(c: &mut Criterion) {
    for (name, size) in [("event_100B", 100), ("event_10KiB", 10 * 1024)] {
        let payload = chat_payload(size);
        let args = Args::json(vec![payload.clone()]);
        let text = encode_event("/", None, "chat", &args, None);
        assert_eq!(text.len(), size);
        let json_part = &text[1..];
        let whole_value = Value::Array(vec![Value::from("chat"), payload]);

        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function("decode", |b| {
            b.iter(|| match Packet::decode(black_box(&text), MAX_ATTACHMENTS) {
                Ok(packet) => black_box(packet),
                Err(e) => panic!("the packet is valid: {e}"),
            })
        });
        group.bench_function("serde_json_decode", |b| {
            b.iter(
                || match serde_json::from_str::<Value>(black_box(json_part)) {
                    Ok(value) => black_box(value),
                    Err(e) => panic!("the JSON is valid: {e}"),
                },
            )
        });
        group.bench_function("encode", |b| {
            b.iter(|| black_box(encode_event("/", None, "chat", black_box(&args), None)))
        });
        group.bench_function("serde_json_encode", |b| {
            b.iter(|| match serde_json::to_vec(black_box(&whole_value)) {
                Ok(bytes) => black_box(bytes),
                Err(e) => panic!("a Value always serialises: {e}"),
            })
        });
        let mut dst = vec![0u8; text.len()];
        group.bench_function("memcpy", |b| {
            b.iter(|| {
                dst.copy_from_slice(black_box(text.as_bytes()));
                black_box(&mut dst);
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench_event);
criterion_main!(benches);
