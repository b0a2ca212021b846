//! Decoder tests: every rule of RFC 6455 §5 the server enforces (`rules`), the memory bounds
//! (`memory`) and chunking independence (`chunking`). Frames are built by the crate's one
//! client-frame encoder (`crate::testing`).

mod chunking;
mod memory;
mod rules;

use super::{Incoming, MessageDecoder, ProtocolError};

// Frames come from the crate's one client-frame encoder.
use crate::testing::ClientFrame;
pub(super) use crate::testing::{
    Length as Len, BINARY, CLOSE, FIN, MASK_KEY as KEY, PING, PONG, TEXT,
};

/// A client frame: `first` is FIN|RSV|opcode, the payload masked with `key` if given.
fn raw_frame(first: u8, payload: &[u8], key: Option<[u8; 4]>, len: Len) -> Vec<u8> {
    ClientFrame::new(first, payload)
        .mask(key)
        .length(len)
        .encode()
}

fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    ClientFrame::new(first, payload).encode()
}

/// A header declaring `len` bytes with the 64-bit form, and no payload.
fn header_64(first: u8, len: u64) -> Vec<u8> {
    ClientFrame::new(first, &[])
        .length(Len::U64)
        .declared(len)
        .encode()
}

/// An owned copy of what the decoder returned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<(u16, String)>),
    Error(ProtocolError),
}

impl From<Result<Incoming<'_>, ProtocolError>> for Item {
    fn from(item: Result<Incoming<'_>, ProtocolError>) -> Self {
        match item {
            Ok(Incoming::Text(text)) => Item::Text(text.to_owned()),
            Ok(Incoming::Binary(data)) => Item::Binary(data.to_vec()),
            Ok(Incoming::Ping(data)) => Item::Ping(data.to_vec()),
            Ok(Incoming::Pong(data)) => Item::Pong(data.to_vec()),
            Ok(Incoming::Close(close)) => Item::Close(close.map(|c| (c.code, c.reason.to_owned()))),
            Err(error) => Item::Error(error),
        }
    }
}

/// Feeds `input` in pieces ending at `cuts` (then at the end), draining each piece, and returns
/// every item up to and including the first error. Checks the `decode` contract on the way: an
/// item always consumes something, `None` means the piece was used up, and after an error the
/// decoder consumes nothing.
fn feed(decoder: &mut MessageDecoder, input: &[u8], cuts: &[usize]) -> Vec<Item> {
    let mut bounds: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
    bounds.push(input.len());
    bounds.sort_unstable();
    let mut items = Vec::new();
    let mut start = 0;
    for end in bounds {
        let mut piece = &input[start..end];
        start = end;
        loop {
            let (used, item) = decoder.decode(piece);
            assert!(used <= piece.len());
            piece = &piece[used..];
            match item {
                Some(item) => {
                    let item = Item::from(item);
                    let failed = matches!(item, Item::Error(_));
                    assert!(used > 0 || failed, "an item consumed nothing");
                    items.push(item);
                    if failed {
                        assert_eq!(decoder.decode(&[0x81, 0x80]), (0, None));
                        return items;
                    }
                }
                None => {
                    assert!(
                        piece.is_empty(),
                        "stopped with input left and nothing to say"
                    );
                    break;
                }
            }
        }
    }
    items
}

fn decode_all(input: &[u8]) -> Vec<Item> {
    feed(&mut MessageDecoder::new(1 << 20), input, &[])
}

fn decode_bytewise(input: &[u8]) -> Vec<Item> {
    let cuts: Vec<usize> = (0..input.len()).collect();
    feed(&mut MessageDecoder::new(1 << 20), input, &cuts)
}

/// Decodes `input` whole and one byte at a time, checks both agree, returns the items.
fn decode_both(input: &[u8]) -> Vec<Item> {
    let whole = decode_all(input);
    assert_eq!(decode_bytewise(input), whole, "1-byte chunking disagrees");
    whole
}

fn error(e: ProtocolError) -> Vec<Item> {
    vec![Item::Error(e)]
}
