//! One test per rule the decoder enforces, each also run one byte at a time.

use super::*;
use crate::ws::decoder::is_valid_close_code;

#[test]
fn rfc_hello() {
    // RFC 6455 §5.7, "A single-frame masked text message".
    let bytes = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(decode_both(&bytes), vec![Item::Text("Hello".into())]);
}

#[test]
fn every_kind_of_item() {
    let mut input = frame(FIN | TEXT, "서버에서 클라이언트로".as_bytes());
    input.extend(frame(FIN | BINARY, &[0, 1, 2, 255]));
    input.extend(frame(FIN | TEXT, b""));
    input.extend(frame(FIN | PING, b"are you there"));
    input.extend(frame(FIN | PONG, b""));
    input.extend(frame(FIN | CLOSE, b"\x03\xe8bye"));
    input.extend(frame(FIN | CLOSE, b""));
    assert_eq!(
        decode_both(&input),
        vec![
            Item::Text("서버에서 클라이언트로".into()),
            Item::Binary(vec![0, 1, 2, 255]),
            Item::Text(String::new()),
            Item::Ping(b"are you there".to_vec()),
            Item::Pong(vec![]),
            Item::Close(Some((1000, "bye".into()))),
            Item::Close(None),
        ]
    );
}

#[test]
fn length_encodings_including_over_long_ones() {
    for len in [Len::Minimal, Len::U16, Len::U64] {
        for size in [0, 1, 125, 126, 65535, 65536] {
            let payload: Vec<u8> = (0..size).map(|i| i as u8).collect();
            let input = raw_frame(FIN | BINARY, &payload, Some(KEY), len);
            assert_eq!(
                decode_all(&input),
                vec![Item::Binary(payload)],
                "{len:?} {size}"
            );
        }
        let ping = raw_frame(FIN | PING, b"12345", Some(KEY), len);
        assert_eq!(decode_both(&ping), vec![Item::Ping(b"12345".to_vec())]);
    }
}

#[test]
fn fragments_with_a_character_split_across_them() {
    // "é€😀" with each character cut in the middle by a fragment boundary.
    let text = "aé€😀z";
    let bytes = text.as_bytes();
    let mut input = frame(TEXT, &bytes[..2]);
    input.extend(frame(0, &bytes[2..5]));
    input.extend(frame(0, &bytes[5..9]));
    input.extend(frame(FIN, &bytes[9..]));
    assert_eq!(decode_both(&input), vec![Item::Text(text.into())]);
}

#[test]
fn control_frames_between_fragments_leave_the_message_alone() {
    let mut input = frame(TEXT, "hé".as_bytes()[..2].as_ref());
    input.extend(frame(FIN | PING, b"ping payload"));
    input.extend(frame(0, &"hé".as_bytes()[2..]));
    input.extend(frame(FIN | PONG, b"pong"));
    input.extend(frame(FIN, b"llo"));
    input.extend(frame(FIN | BINARY, b"next"));
    assert_eq!(
        decode_both(&input),
        vec![
            Item::Ping(b"ping payload".to_vec()),
            Item::Pong(b"pong".to_vec()),
            Item::Text("héllo".into()),
            Item::Binary(b"next".to_vec()),
        ]
    );
}

#[test]
fn unmasked_frame_refused_at_second_byte() {
    let input = raw_frame(FIN | TEXT, b"hi", None, Len::Minimal);
    let mut decoder = MessageDecoder::new(1024);
    assert_eq!(decoder.decode(&input[..1]), (1, None));
    let (_, item) = decoder.decode(&input[1..2]);
    assert_eq!(item, Some(Err(ProtocolError::UnmaskedFrame)));
    assert_eq!(ProtocolError::UnmaskedFrame.close_code(), 1002);
}

#[test]
fn reserved_bits_refused_at_first_byte() {
    for rsv in [0x40, 0x20, 0x10] {
        let mut decoder = MessageDecoder::new(1024);
        let (_, item) = decoder.decode(&[FIN | rsv | TEXT]);
        assert_eq!(item, Some(Err(ProtocolError::ReservedBits)));
        // Also on a control frame.
        assert_eq!(
            decode_both(&frame(FIN | rsv | PING, b"")),
            error(ProtocolError::ReservedBits)
        );
    }
}

#[test]
fn reserved_opcodes() {
    for opcode in (3..=7).chain(11..=15) {
        let mut decoder = MessageDecoder::new(1024);
        let (_, item) = decoder.decode(&[FIN | opcode]);
        assert_eq!(item, Some(Err(ProtocolError::ReservedOpcode(opcode))));
    }
}

#[test]
fn control_frames_must_be_final_and_short() {
    for opcode in [CLOSE, PING, PONG] {
        assert_eq!(
            decode_both(&frame(opcode, b"x")),
            error(ProtocolError::FragmentedControl)
        );
        assert_eq!(
            decode_both(&frame(FIN | opcode, &[b'x'; 126])),
            error(ProtocolError::ControlTooLong)
        );
    }
    assert_eq!(
        decode_both(&frame(FIN | PING, &[7; 125])),
        vec![Item::Ping(vec![7; 125])]
    );
}

#[test]
fn continuation_rules() {
    assert_eq!(
        decode_both(&frame(FIN, b"x")),
        error(ProtocolError::UnexpectedContinuation)
    );
    let mut input = frame(FIN | TEXT, b"done");
    input.extend(frame(0, b"x"));
    assert_eq!(
        decode_both(&input),
        vec![
            Item::Text("done".into()),
            Item::Error(ProtocolError::UnexpectedContinuation)
        ]
    );
    for second in [TEXT, BINARY, FIN | TEXT] {
        let mut input = frame(BINARY, b"a");
        input.extend(frame(second, b"b"));
        assert_eq!(
            decode_both(&input),
            error(ProtocolError::ExpectedContinuation)
        );
    }
}

#[test]
fn message_limit_counts_all_fragments() {
    let limit = 10;
    let decode = |input: &[u8]| feed(&mut MessageDecoder::new(limit), input, &[]);
    assert_eq!(
        decode(&frame(FIN | BINARY, &[0; 10])),
        vec![Item::Binary(vec![0; 10])]
    );
    let too_big = error(ProtocolError::MessageTooBig { limit });
    assert_eq!(decode(&frame(FIN | BINARY, &[0; 11])), too_big);
    let mut input = frame(TEXT, b"123456");
    input.extend(frame(FIN | PING, b"control bytes do not count"));
    input.extend(frame(FIN, b"7890"));
    assert_eq!(
        decode(&input),
        vec![
            Item::Ping(b"control bytes do not count".to_vec()),
            Item::Text("1234567890".into())
        ]
    );
    let mut input = frame(TEXT, b"123456");
    input.extend(frame(FIN, b"78901"));
    assert_eq!(decode(&input), too_big);
    assert_eq!(
        too_big[0],
        Item::Error(ProtocolError::MessageTooBig { limit })
    );
    assert_eq!(ProtocolError::MessageTooBig { limit }.close_code(), 1009);
}

#[test]
fn invalid_utf8_refused_before_the_frame_ends() {
    let mut payload = b"valid start ".to_vec();
    payload.push(0xFF);
    payload.extend_from_slice(&[b'x'; 200]);
    let input = frame(FIN | TEXT, &payload);
    let header_len = 4; // 16-bit length form
    let mut decoder = MessageDecoder::new(1024);
    let partial = &input[..header_len + 4 + 13];
    let (_, item) = decoder.decode(partial);
    assert_eq!(item, Some(Err(ProtocolError::InvalidUtf8)));
    assert_eq!(ProtocolError::InvalidUtf8.close_code(), 1007);
}

#[test]
fn invalid_utf8_across_fragments_refused_at_the_bad_byte() {
    // "€" is E2 82 AC; the first fragment ends with E2 82, the second starts with 'a'.
    let mut first = frame(TEXT, b"ok \xE2\x82");
    let second = frame(FIN, b"a and more");
    let mut decoder = MessageDecoder::new(1024);
    assert_eq!(decoder.decode(&first), (first.len(), None));
    // The second fragment's header plus its first payload byte are enough.
    let (_, item) = decoder.decode(&second[..2 + 4 + 1]);
    assert_eq!(item, Some(Err(ProtocolError::InvalidUtf8)));

    // A surrogate (ED A0) is refused on its second byte, before the character ends.
    first = frame(FIN | TEXT, b"\xED\xA0\x80");
    let mut decoder = MessageDecoder::new(1024);
    assert_eq!(decoder.decode(&first[..2 + 4 + 1]), (7, None));
    let (_, item) = decoder.decode(&first[7..8]);
    assert_eq!(item, Some(Err(ProtocolError::InvalidUtf8)));
}

#[test]
fn truncated_character_at_message_end() {
    let mut input = frame(TEXT, b"ok \xF0\x9F");
    input.extend(frame(FIN, b"\x98"));
    assert_eq!(decode_both(&input), error(ProtocolError::InvalidUtf8));
    // Binary messages are not checked.
    assert_eq!(
        decode_both(&frame(FIN | BINARY, b"\xFF\xF0")),
        vec![Item::Binary(b"\xFF\xF0".to_vec())]
    );
}

#[test]
fn close_payloads() {
    assert_eq!(
        decode_both(&frame(FIN | CLOSE, b"\x03")),
        error(ProtocolError::BadClose("one-byte payload"))
    );
    assert_eq!(
        decode_both(&frame(FIN | CLOSE, b"\x03\xed")),
        error(ProtocolError::BadClose("invalid close code"))
    );
    assert_eq!(
        decode_both(&frame(
            FIN | CLOSE,
            b"\x03\xe8\xCE\xBA\xE1\xBD\xB9\xF4\x90\x80\x80"
        )),
        error(ProtocolError::InvalidUtf8)
    );
    let reason = "정상 종료";
    let mut payload = 4999u16.to_be_bytes().to_vec();
    payload.extend_from_slice(reason.as_bytes());
    assert_eq!(
        decode_both(&frame(FIN | CLOSE, &payload)),
        vec![Item::Close(Some((4999, reason.into())))]
    );
}

#[test]
fn close_code_table() {
    let valid = [
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000,
        4999,
    ];
    let invalid = [
        0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ];
    for code in valid {
        assert!(is_valid_close_code(code), "{code}");
        let input = frame(FIN | CLOSE, &code.to_be_bytes());
        assert_eq!(
            decode_all(&input),
            vec![Item::Close(Some((code, String::new())))]
        );
    }
    for code in invalid {
        assert!(!is_valid_close_code(code), "{code}");
        let input = frame(FIN | CLOSE, &code.to_be_bytes());
        assert_eq!(
            decode_all(&input),
            error(ProtocolError::BadClose("invalid close code")),
            "{code}"
        );
    }
}

#[test]
fn after_an_error_nothing_more() {
    let mut input = frame(FIN | 0x40 | TEXT, b"x");
    input.extend(frame(FIN | TEXT, b"fine"));
    let mut decoder = MessageDecoder::new(1024);
    let (_, item) = decoder.decode(&input);
    assert_eq!(item, Some(Err(ProtocolError::ReservedBits)));
    for _ in 0..3 {
        assert_eq!(decoder.decode(&input), (0, None));
    }
}
