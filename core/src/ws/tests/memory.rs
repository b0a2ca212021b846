//! What a hostile peer can make the decoder hold: never more than the message limit.

use super::*;

#[test]
fn huge_declared_length_refused_before_any_allocation() {
    let mut decoder = MessageDecoder::new(16 << 20);
    let header = header_64(FIN | BINARY, 1 << 62);
    let (used, item) = decoder.decode(&header);
    assert_eq!(used, header.len());
    assert_eq!(
        item,
        Some(Err(ProtocolError::MessageTooBig { limit: 16 << 20 }))
    );
    assert_eq!(decoder.buffered_bytes(), 0);

    // The most significant bit must be 0 (RFC 6455 §5.2): a protocol error, not "too big".
    let header = header_64(FIN | BINARY, 1 << 63);
    assert_eq!(decode_both(&header), error(ProtocolError::InvalidLength));
    assert_eq!(ProtocolError::InvalidLength.close_code(), 1002);
}

#[test]
fn lying_header_reserves_little() {
    // Declares just under the limit, then sends a few bytes: the buffer follows what arrived.
    let mut decoder = MessageDecoder::new(16 << 20);
    let mut input = header_64(FIN | BINARY, 16 << 20);
    input.extend_from_slice(&[0; 100]);
    assert_eq!(decoder.decode(&input), (input.len(), None));
    assert!(decoder.buffered_bytes() <= 64 * 1024);
}

#[test]
fn a_hundred_thousand_empty_fragments() {
    let mut decoder = MessageDecoder::new(1024);
    let (used, item) = decoder.decode(&frame(TEXT, b"a"));
    assert_eq!((used, item), (7, None));
    let empty = frame(0, b"");
    let after_first = decoder.buffered_bytes();
    for _ in 0..100_000 {
        assert_eq!(decoder.decode(&empty), (empty.len(), None));
    }
    assert_eq!(decoder.buffered_bytes(), after_first);
    let last = frame(FIN, "é".as_bytes());
    let (_, item) = decoder.decode(&last);
    assert_eq!(item, Some(Ok(Incoming::Text("aé"))));
}

#[test]
fn many_tiny_fragments_cost_only_their_bytes() {
    let mut input = frame(BINARY, b"");
    for i in 0..50_000u32 {
        input.extend(frame(0, &[i as u8]));
    }
    input.extend(frame(FIN, b""));
    let mut decoder = MessageDecoder::new(50_000);
    let (used, item) = decoder.decode(&input);
    assert_eq!(used, input.len());
    let expected: Vec<u8> = (0..50_000u32).map(|i| i as u8).collect();
    assert_eq!(item, Some(Ok(Incoming::Binary(&expected))));
    // Capacity never grows past the limit, whatever the growth pattern.
    assert!(decoder.buffered_bytes() <= 50_000 + 125);
}

#[test]
fn big_buffer_freed_after_its_message() {
    let mut decoder = MessageDecoder::new(1 << 20);
    let input = frame(FIN | BINARY, &vec![1; 200_000]);
    let (_, item) = decoder.decode(&input);
    assert!(matches!(item, Some(Ok(Incoming::Binary(b))) if b.len() == 200_000));
    assert_eq!(decoder.decode(&[]), (0, None));
    assert_eq!(decoder.buffered_bytes(), 0);

    // A small message's buffer is kept for the next one...
    let input = frame(FIN | BINARY, &[1; 1000]);
    assert!(decoder.decode(&input).1.is_some());
    assert_eq!(decoder.decode(&[]), (0, None));
    assert!(decoder.buffered_bytes() >= 1000);
    // ...until the connection goes quiet.
    decoder.release_memory();
    assert_eq!(decoder.buffered_bytes(), 0);
}

#[test]
fn release_memory_keeps_a_message_in_progress() {
    let mut input = frame(TEXT, "hé".as_bytes());
    input.extend(frame(FIN | PING, b"p"));
    input.extend(frame(FIN, "llo".as_bytes()));
    let mut decoder = MessageDecoder::new(1024);
    let mut items = Vec::new();
    let mut rest = &input[..];
    while !rest.is_empty() {
        // Feed 3 bytes at a time and release memory after every call.
        let take = rest.len().min(3);
        let (used, item) = decoder.decode(&rest[..take]);
        if let Some(item) = item {
            items.push(Item::from(item));
        }
        rest = &rest[used..];
        decoder.release_memory();
    }
    assert_eq!(
        items,
        vec![Item::Ping(b"p".to_vec()), Item::Text("héllo".into())]
    );
}

#[test]
fn decoder_stays_small() {
    assert!(std::mem::size_of::<MessageDecoder>() <= 96);
    assert_eq!(MessageDecoder::default().buffered_bytes(), 0);
}
