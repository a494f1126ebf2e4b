//! Median and mean, defined once so that every table, latency summary and comparison in
//! harbench agrees on them (an even count takes the mean of the two middle values, as numpy's
//! `median` does, rather than one of them).

/// The median of `values`: the middle value of the sorted values, or the mean of the two middle
/// ones for an even count (numpy's `median`); `None` when empty.
///
/// Sorts a copy with [`f64::total_cmp`], so NaN never panics: positive NaNs sort above +∞ and
/// negative ones below −∞ (a NaN in the middle makes the median NaN, as in numpy).
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 { sorted[mid] } else { (sorted[mid - 1] + sorted[mid]) / 2.0 })
}

/// The arithmetic mean of `values`; `None` when empty (rather than 0/0 = NaN, so a caller
/// decides what an empty set shows).
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_counts_take_the_middle_value() {
        // Sorted: 1 1 2 3 4 5 9 → the 4th, 3.
        assert_eq!(median(&[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0]), Some(3.0));
        assert_eq!(median(&[7.5]), Some(7.5));
        assert_eq!(median(&[-2.0, -8.0, 0.0]), Some(-2.0));
    }

    #[test]
    fn even_counts_take_the_mean_of_the_two_middles() {
        // Sorted: 1 1 2 3 3 4 5 5 6 9 → (3 + 4) / 2 = 3.5 (numpy: 3.5).
        assert_eq!(median(&[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0]), Some(3.5));
        assert_eq!(median(&[2.0, 1.0]), Some(1.5));
        // numpy: np.median([0.0021, 0.0019, 0.0020, 0.0022, 0.0150, 0.0020, 0.0018, 0.0021])
        // = 0.0020499999999999997, (0.0020 + 0.0021) / 2 in floating point.
        assert_eq!(median(&[0.0021, 0.0019, 0.0020, 0.0022, 0.0150, 0.0020, 0.0018, 0.0021]), Some(0.0020499999999999997));
    }

    #[test]
    fn empty_is_none_and_nan_does_not_panic() {
        assert_eq!(median(&[]), None);
        assert_eq!(mean(&[]), None);
        // NaN sorts last: [1, 2, NaN] → 2; [1, NaN] → NaN.
        assert_eq!(median(&[f64::NAN, 2.0, 1.0]), Some(2.0));
        assert!(median(&[1.0, f64::NAN]).unwrap().is_nan());
        assert_eq!(median(&[f64::INFINITY, 1.0, f64::NEG_INFINITY]), Some(1.0));
    }

    #[test]
    fn mean_by_hand() {
        // (1 + 2 + 3 + 4) / 4 = 2.5; (3+1+4+1+5+9+2+6+5+3) / 10 = 39 / 10 = 3.9.
        assert_eq!(mean(&[1.0, 2.0, 3.0, 4.0]), Some(2.5));
        assert_eq!(mean(&[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0]), Some(3.9));
        assert_eq!(mean(&[-1.5]), Some(-1.5));
    }
}
