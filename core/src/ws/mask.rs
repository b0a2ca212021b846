//! Unmasking client payloads (RFC 6455 §5.3).
//!
//! Every client byte is XORed with a 4-byte key, so this loop touches each byte of every message
//! the server receives. A byte at a time it costs several times a `memcpy`; eight bytes at a time,
//! with the key repeated in a `u64`, the compiler vectorises it, and the copy out of the read
//! buffer and the XOR become one pass. On x86-64 the same loop is also compiled for AVX2 and
//! picked at run time: the default target only assumes SSE2, which halves the throughput.
//! tungstenite's own routine is private, hence this one.
//!
//! The key's phase depends on the payload offset (byte `i` uses `key[i % 4]`). Rather than carry
//! the offset around, callers rotate the key after each chunk ([`advance`]), so a chunk always
//! starts at phase 0.

/// The key after `consumed` payload bytes, so the next chunk starts at phase 0 again.
pub(crate) fn advance(key: [u8; 4], consumed: usize) -> [u8; 4] {
    let mut key = key;
    key.rotate_left(consumed % 4);
    key
}

/// Writes `src` unmasked with `key` (phase 0) into `out`, which has the same length.
pub(crate) fn unmask_copy(out: &mut [u8], src: &[u8], key: [u8; 4]) {
    debug_assert_eq!(out.len(), src.len());
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, as just checked.
            unsafe { unmask_copy_avx2(out, src, key) };
            return;
        }
    }
    unmask_copy_words(out, src, key);
}

/// [`unmask_copy_words`] compiled for AVX2, so its loop runs on 32-byte vectors.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn unmask_copy_avx2(out: &mut [u8], src: &[u8], key: [u8; 4]) {
    unmask_copy_words(out, src, key);
}

/// The portable loop: whole `u64` words, then the last 0-7 bytes (which start at a multiple of
/// 8, hence at phase 0).
#[inline(always)]
fn unmask_copy_words(out: &mut [u8], src: &[u8], key: [u8; 4]) {
    let word = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut out_words = out.chunks_exact_mut(8);
    let mut src_words = src.chunks_exact(8);
    for (o, s) in (&mut out_words).zip(&mut src_words) {
        if let (Ok(o), Ok(s)) = (<&mut [u8; 8]>::try_from(o), <[u8; 8]>::try_from(s)) {
            *o = (u64::from_ne_bytes(s) ^ word).to_ne_bytes();
        }
    }
    let tail = out_words
        .into_remainder()
        .iter_mut()
        .zip(src_words.remainder());
    for ((o, s), k) in tail.zip(key.iter().cycle()) {
        *o = s ^ k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn unmask_bytewise(data: &[u8], key: [u8; 4]) -> Vec<u8> {
        data.iter()
            .enumerate()
            .map(|(i, b)| b ^ key[i % 4])
            .collect()
    }

    #[test]
    fn rfc_example() {
        // RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d.
        let masked = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        let mut out = [0; 5];
        unmask_copy(&mut out, &masked, [0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(&out, b"Hello");
    }

    #[test]
    fn advance_rotates_by_offset() {
        let key = [1, 2, 3, 4];
        assert_eq!(advance(key, 0), key);
        assert_eq!(advance(key, 1), [2, 3, 4, 1]);
        assert_eq!(advance(key, 6), [3, 4, 1, 2]);
        assert_eq!(advance(key, 8), key);
    }

    proptest! {
        /// Any split into chunks, each written at any offset of the output, gives the bytewise
        /// result; both the dispatched and the portable loop.
        #[test]
        fn matches_bytewise_in_any_split(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            key in any::<[u8; 4]>(),
            cuts in proptest::collection::vec(0usize..300, 0..6),
        ) {
            let mut bounds: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            bounds.push(0);
            bounds.push(data.len());
            bounds.sort_unstable();
            let expected = unmask_bytewise(&data, key);
            for portable in [false, true] {
                let mut out = vec![0; data.len()];
                let mut phase_key = key;
                for pair in bounds.windows(2) {
                    let (from, to) = (pair[0], pair[1]);
                    if portable {
                        unmask_copy_words(&mut out[from..to], &data[from..to], phase_key);
                    } else {
                        unmask_copy(&mut out[from..to], &data[from..to], phase_key);
                    }
                    phase_key = advance(phase_key, to - from);
                }
                prop_assert_eq!(&out, &expected);
            }
        }
    }
}
