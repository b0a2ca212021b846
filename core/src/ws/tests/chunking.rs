//! Random client streams cut at random places decode the same as whole.

use proptest::prelude::*;

use super::*;

/// One piece of a random client byte stream.
#[derive(Debug, Clone)]
enum Piece {
    /// A message cut into fragments, with a ping after some of them.
    Message {
        text: bool,
        payload: Vec<u8>,
        cuts: Vec<usize>,
        ping_after: Vec<bool>,
        len: Len,
    },
    /// Any frame at all, valid or not.
    Raw {
        first: u8,
        payload: Vec<u8>,
        masked: bool,
        len: Len,
    },
}

impl Piece {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Piece::Message {
                text,
                payload,
                cuts,
                ping_after,
                len,
            } => {
                let mut bounds: Vec<usize> = cuts.iter().map(|&c| c.min(payload.len())).collect();
                bounds.push(0);
                bounds.push(payload.len());
                bounds.sort_unstable();
                let count = bounds.len() - 1;
                for (i, pair) in bounds.windows(2).enumerate() {
                    let opcode = match (i, text) {
                        (0, true) => TEXT,
                        (0, false) => BINARY,
                        _ => 0,
                    };
                    let fin = if i + 1 == count { FIN } else { 0 };
                    let part = &payload[pair[0]..pair[1]];
                    out.extend(raw_frame(fin | opcode, part, Some(KEY), *len));
                    if ping_after.get(i) == Some(&true) && fin == 0 {
                        out.extend(frame(FIN | PING, &[i as u8; 3]));
                    }
                }
            }
            Piece::Raw {
                first,
                payload,
                masked,
                len,
            } => out.extend(raw_frame(*first, payload, masked.then_some(KEY), *len)),
        }
    }
}

fn len_strategy() -> impl Strategy<Value = Len> {
    prop_oneof![8 => Just(Len::Minimal), 1 => Just(Len::U16), 1 => Just(Len::U64)]
}

fn piece_strategy() -> impl Strategy<Value = Piece> {
    let message = (
        any::<bool>(),
        prop_oneof![
            any::<String>().prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..40),
        ],
        proptest::collection::vec(0usize..60, 0..4),
        proptest::collection::vec(any::<bool>(), 0..4),
        len_strategy(),
    )
        .prop_map(|(text, payload, cuts, ping_after, len)| Piece::Message {
            text,
            payload,
            cuts,
            ping_after,
            len,
        });
    let raw = (
        prop_oneof![
            Just(FIN | PING),
            Just(FIN | CLOSE),
            Just(FIN | PONG),
            Just(0u8),
            Just(FIN),
            any::<u8>()
        ],
        proptest::collection::vec(any::<u8>(), 0..130),
        prop::bool::weighted(0.95),
        len_strategy(),
    )
        .prop_map(|(first, payload, masked, len)| Piece::Raw {
            first,
            payload,
            masked,
            len,
        });
    prop_oneof![4 => message, 1 => raw]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Chunk boundaries change nothing: same items, same error, whether the stream arrives
    /// whole, one byte at a time or cut at random places.
    #[test]
    fn chunking_does_not_matter(
        pieces in proptest::collection::vec(piece_strategy(), 1..6),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
        limit in prop_oneof![Just(1usize << 20), 0usize..64],
    ) {
        let mut input = Vec::new();
        for piece in &pieces {
            piece.write(&mut input);
        }
        let whole = feed(&mut MessageDecoder::new(limit), &input, &[]);
        let bytewise: Vec<usize> = (0..input.len()).collect();
        prop_assert_eq!(&feed(&mut MessageDecoder::new(limit), &input, &bytewise), &whole);
        let cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        prop_assert_eq!(&feed(&mut MessageDecoder::new(limit), &input, &cuts), &whole);
    }

    /// Well-formed messages come out as they went in.
    #[test]
    fn messages_round_trip(text in any::<String>(), cuts in proptest::collection::vec(0usize..80, 0..5)) {
        let piece = Piece::Message {
            text: true,
            payload: text.clone().into_bytes(),
            cuts,
            ping_after: vec![true, false, true],
            len: Len::Minimal,
        };
        let mut input = Vec::new();
        piece.write(&mut input);
        let items = decode_both(&input);
        prop_assert_eq!(items.last(), Some(&Item::Text(text)));
        prop_assert!(items[..items.len() - 1].iter().all(|i| matches!(i, Item::Ping(_))));
    }
}
