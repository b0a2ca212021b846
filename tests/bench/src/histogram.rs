//! A small log-linear histogram of microsecond values.
//!
//! Workers of the load generator each record tens of thousands of samples (tick deviations,
//! round-trip times) and the parent must merge them before taking percentiles, so the samples
//! travel as a sparse bucket list in JSON. Buckets have a relative width of 1/64 (≤1.6 % error),
//! which is finer than the noise of a shared two-core machine, and values below 128 µs are exact.

use serde::{Deserialize, Serialize};

/// Sub-buckets per power of two.
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

/// Sparse log-linear histogram of microsecond values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// `(bucket, count)`, sorted by bucket.
    buckets: Vec<(u32, u64)>,
    count: u64,
    max_us: u64,
}

fn bucket_of(value: u64) -> u32 {
    if value < 2 * SUB {
        return value as u32;
    }
    let exp = 63 - value.leading_zeros(); // ≥ SUB_BITS + 1
    let shift = exp - SUB_BITS;
    let sub = (value >> shift) - SUB; // 0..SUB
    (2 * SUB) as u32 + (shift - 1) * SUB as u32 + sub as u32
}

/// The upper bound of a bucket (the value reported for samples in it).
fn bucket_high(bucket: u32) -> u64 {
    let bucket = u64::from(bucket);
    if bucket < 2 * SUB {
        return bucket;
    }
    let rel = bucket - 2 * SUB;
    let shift = rel / SUB + 1;
    let sub = rel % SUB + SUB;
    ((sub + 1) << shift) - 1
}

impl Histogram {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one value in microseconds.
    pub fn record(&mut self, value_us: u64) {
        let bucket = bucket_of(value_us);
        match self.buckets.binary_search_by_key(&bucket, |&(b, _)| b) {
            Ok(i) => {
                if let Some(entry) = self.buckets.get_mut(i) {
                    entry.1 += 1;
                }
            }
            Err(i) => self.buckets.insert(i, (bucket, 1)),
        }
        self.count += 1;
        self.max_us = self.max_us.max(value_us);
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for &(bucket, count) in &other.buckets {
            match self.buckets.binary_search_by_key(&bucket, |&(b, _)| b) {
                Ok(i) => {
                    if let Some(entry) = self.buckets.get_mut(i) {
                        entry.1 += count;
                    }
                }
                Err(i) => self.buckets.insert(i, (bucket, count)),
            }
        }
        self.count += other.count;
        self.max_us = self.max_us.max(other.max_us);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The value (µs) below or at which `q` (0..=1) of the samples lie; 0 when empty.
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for &(bucket, count) in &self.buckets {
            seen += count;
            if seen >= rank {
                return bucket_high(bucket).min(self.max_us);
            }
        }
        self.max_us
    }

    /// p50, p99 and max in milliseconds; `None` when empty.
    pub fn percentiles_ms(&self) -> Option<Percentiles> {
        (self.count > 0).then(|| Percentiles {
            p50: self.quantile_us(0.50) as f64 / 1000.0,
            p99: self.quantile_us(0.99) as f64 / 1000.0,
            max: self.max_us as f64 / 1000.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_contain_their_values() {
        let mut last = 0;
        for value in (0..200_000u64).chain([1 << 30, u64::from(u32::MAX), 1 << 40]) {
            let bucket = bucket_of(value);
            assert!(bucket >= last, "bucket order broke at {value}");
            last = bucket;
            let high = bucket_high(bucket);
            assert!(high >= value, "{value} above its bucket's bound {high}");
            assert!(
                (high - value) as f64 <= value as f64 / SUB as f64 + 1.0,
                "{value}: bound {high} too coarse"
            );
        }
    }

    #[test]
    fn quantiles_of_a_uniform_range() {
        let mut h = Histogram::new();
        for v in 1..=10_000 {
            h.record(v);
        }
        let p50 = h.quantile_us(0.5) as f64;
        let p99 = h.quantile_us(0.99) as f64;
        assert!((p50 - 5000.0).abs() / 5000.0 < 0.02, "p50 {p50}");
        assert!((p99 - 9900.0).abs() / 9900.0 < 0.02, "p99 {p99}");
        assert_eq!(h.quantile_us(1.0), 10_000);
        assert_eq!(h.percentiles_ms().map(|p| p.max), Some(10.0));
    }

    #[test]
    fn merge_equals_recording_everything_once() {
        let (mut a, mut b, mut all) = (Histogram::new(), Histogram::new(), Histogram::new());
        for v in 0..5000u64 {
            let value = v * 37 % 9000;
            if v % 3 == 0 { &mut a } else { &mut b }.record(value);
            all.record(value);
        }
        a.merge(&b);
        assert_eq!(a, all);
        let json = serde_json::to_string(&a).unwrap_or_default();
        let back: Histogram = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, all);
    }

    #[test]
    fn empty_has_no_percentiles() {
        assert_eq!(Histogram::new().percentiles_ms(), None);
        assert_eq!(Histogram::new().quantile_us(0.99), 0);
    }
}
