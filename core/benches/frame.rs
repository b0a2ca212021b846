//! Decoding throughput of 16 KiB masked client messages (header parse, unmask, UTF-8 check),
//! next to a plain `memcpy` of the same 16 KiB: every received byte has to be copied out of the
//! read buffer anyway, so the copy is the floor the decoder is measured against.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gif_chat_core::internals::ws::{Incoming, MessageDecoder};
use gif_chat_core::testing::{client_frame, BINARY, FIN, TEXT};

const SIZE: usize = 16 * 1024;

/// About 16 KiB of `unit` repeated, cut at a character boundary.
fn text_of(unit: &str) -> String {
    let mut text = unit.repeat(SIZE / unit.len() + 1);
    let mut end = SIZE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}

fn bench_decode(c: &mut Criterion) {
    let ascii = text_of("The quick brown fox jumps over the lazy dog. ");
    let korean = text_of("서버에서 클라이언트로 메시지를 보냅니다. ");
    let binary: Vec<u8> = (0..SIZE).map(|i| (i * 7 + 3) as u8).collect();
    let cases = [
        (
            "text_ascii",
            client_frame(FIN | TEXT, ascii.as_bytes()),
            ascii.len(),
        ),
        (
            "text_korean",
            client_frame(FIN | TEXT, korean.as_bytes()),
            korean.len(),
        ),
        ("binary", client_frame(FIN | BINARY, &binary), binary.len()),
    ];

    let mut group = c.benchmark_group("frame_16k");
    for (name, input, len) in &cases {
        group.throughput(Throughput::Bytes(*len as u64));
        let mut decoder = MessageDecoder::new(1 << 20);
        group.bench_function(*name, |b| {
            b.iter(|| {
                let (used, item) = decoder.decode(black_box(input));
                let len = match item {
                    Some(Ok(Incoming::Text(text))) => text.len(),
                    Some(Ok(Incoming::Binary(data))) => data.len(),
                    other => panic!("unexpected {other:?}"),
                };
                black_box((used, len))
            })
        });
    }

    group.throughput(Throughput::Bytes(SIZE as u64));
    let mut dst = vec![0u8; SIZE];
    group.bench_function("memcpy", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&binary));
            black_box(&mut dst);
        })
    });
    group.finish();
}

criterion_group!(benches, bench_decode);
criterion_main!(benches);
