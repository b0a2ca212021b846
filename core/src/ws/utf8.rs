//! Incremental UTF-8 validation of text messages as their bytes arrive.
//!
//! Autobahn's 6.x cases require failing fast: a text message must be refused as soon as an
//! invalid byte is received, not when the message ends, even when a character is split across
//! reads, frames or fragments. The decoder therefore checks each chunk as it lands in the message
//! buffer. Everything before `valid_up_to` in the buffer is whole, valid characters; what follows
//! is at most three bytes of a character still incomplete, which must be a valid *prefix* of one.
//! The bulk of each chunk goes through `simdutf8`; only the short incomplete tail is checked with
//! the standard library, which tells "invalid" apart from "cut short".

/// `text[..valid_up_to]` is known valid; checks the rest and returns the new `valid_up_to`: the
/// end of the last whole character. The bytes after it (at most 3) are a valid prefix of a
/// character. `Err` means an invalid byte was seen.
pub(crate) fn validate_prefix(text: &[u8], valid_up_to: usize) -> Result<usize, ()> {
    let unchecked = text.get(valid_up_to..).ok_or(())?;
    let whole = unchecked.len() - incomplete_tail_len(unchecked);
    let (body, tail) = unchecked.split_at(whole);
    simdutf8::basic::from_utf8(body).map_err(|_| ())?;
    if !tail.is_empty() {
        // The tail is an unfinished character by construction, so `from_utf8` fails; it is fine
        // only when it failed for running out of input (`error_len() == None`).
        match std::str::from_utf8(tail) {
            Err(e) if e.error_len().is_none() && e.valid_up_to() == 0 => {}
            _ => return Err(()),
        }
    }
    Ok(valid_up_to + whole)
}

/// How many bytes at the end of `bytes` belong to a character whose lead byte announces more bytes
/// than are present. Anything malformed counts as complete, so that the main check rejects it.
fn incomplete_tail_len(bytes: &[u8]) -> usize {
    // A character has at most 4 bytes, so an unfinished one has at most 3, and its lead byte is
    // within the last 3.
    for back in 1..=bytes.len().min(3) {
        let index = bytes.len() - back;
        let Some(&byte) = bytes.get(index) else {
            return 0;
        };
        if byte & 0xC0 == 0x80 {
            continue; // continuation byte: the lead is further back
        }
        let width = match byte {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => 1,
        };
        return if width > back { back } else { 0 };
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Feeds `bytes` in chunks ending at `cuts` (then at the end): `Ok(len)` when everything is
    /// valid and complete, else `Err(end of the chunk after which the failure was reported)`.
    fn feed(bytes: &[u8], cuts: &[usize]) -> Result<usize, usize> {
        let mut end = 0;
        let mut valid = 0;
        let mut bounds: Vec<usize> = cuts.iter().map(|&c| c.min(bytes.len())).collect();
        bounds.push(bytes.len());
        bounds.sort_unstable();
        for bound in bounds {
            end = bound.max(end);
            valid = validate_prefix(&bytes[..end], valid).map_err(|()| end)?;
        }
        if valid == bytes.len() {
            Ok(valid)
        } else {
            Err(bytes.len())
        }
    }

    #[test]
    fn multibyte_char_split_anywhere() {
        let text = "a€😀é".as_bytes();
        for cut in 0..=text.len() {
            assert_eq!(feed(text, &[cut]), Ok(text.len()), "cut at {cut}");
        }
    }

    #[test]
    fn invalid_prefix_fails_before_the_character_ends() {
        // 0xF0 0x80: F0 must be followed by 90..BF, so the second byte is already wrong.
        assert_eq!(validate_prefix(&[b'a', 0xF0], 0), Ok(1));
        assert!(validate_prefix(&[b'a', 0xF0, 0x80], 1).is_err());
        // UTF-16 surrogates (ED A0..BF) are invalid in UTF-8.
        assert!(validate_prefix(&[0xED, 0xA0], 0).is_err());
        // Code points over U+10FFFF.
        assert!(validate_prefix(&[0xF4, 0x90], 0).is_err());
        assert!(validate_prefix(&[0xF5], 0).is_err());
        // Over-long encodings and stray continuation bytes.
        assert!(validate_prefix(&[0xC0], 0).is_err());
        assert!(validate_prefix(&[0xE0, 0x80], 0).is_err());
        assert!(validate_prefix(&[0x80], 0).is_err());
    }

    #[test]
    fn incomplete_tail_is_kept_not_accepted() {
        let bytes = "€".as_bytes();
        assert_eq!(validate_prefix(&bytes[..2], 0), Ok(0));
        assert_eq!(validate_prefix(bytes, 0), Ok(3));
    }

    proptest! {
        #[test]
        fn chunked_agrees_with_whole(
            bytes in prop_oneof![
                // Mostly invalid: random bytes biased towards lead and continuation bytes.
                proptest::collection::vec(
                    prop_oneof![any::<u8>(), Just(0x80u8), Just(0xE2), Just(0xF0), Just(0x9F)],
                    0..40,
                ),
                // Mostly valid: real text, sometimes with one byte replaced.
                (any::<String>(), any::<usize>(), any::<u8>(), any::<bool>()).prop_map(
                    |(text, at, byte, corrupt)| {
                        let mut bytes = text.into_bytes();
                        if corrupt && !bytes.is_empty() {
                            let len = bytes.len();
                            bytes[at % len] = byte;
                        }
                        bytes
                    }
                ),
            ],
            cuts in proptest::collection::vec(0usize..40, 0..8),
        ) {
            // Oracle for fail-fast: the shortest prefix the standard library calls invalid (not
            // merely cut short). The chunked check must fail at the first chunk end at or past it.
            let definitely_bad = (1..=bytes.len()).find(|&n| {
                matches!(std::str::from_utf8(&bytes[..n]), Err(e) if e.error_len().is_some())
            });
            let mut bounds: Vec<usize> = cuts.iter().map(|&c| c.min(bytes.len())).collect();
            bounds.push(bytes.len());
            bounds.sort_unstable();
            let expected = match definitely_bad {
                Some(n) => Err(bounds.into_iter().find(|&b| b >= n).unwrap_or(bytes.len())),
                None if std::str::from_utf8(&bytes).is_ok() => Ok(bytes.len()),
                None => Err(bytes.len()), // truncated last character, refused at the end
            };
            prop_assert_eq!(feed(&bytes, &cuts), expected);
        }
    }
}
