//! Statistics for comparing results over seeds: mean, sample standard deviation and Welch's
//! unequal-variance t-test, with the Student-t distribution computed from the regularised
//! incomplete beta function (continued fraction, Numerical Recipes §6.4; log-gamma by Lanczos).

/// Mean of `x` (NaN when empty): [`harbench_common::stats::mean`], with NaN standing for "no
/// values" so that it flows through the t-test arithmetic and the tables show it as such.
pub fn mean(x: &[f64]) -> f64 {
    harbench_common::stats::mean(x).unwrap_or(f64::NAN)
}

/// Sample standard deviation (n − 1 in the denominator); 0 for fewer than two values.
pub fn std_dev(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return 0.0;
    }
    let m = mean(x);
    (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error below 1e-14).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularised incomplete beta function I_x(a, b), for a, b > 0 and x in [0, 1].
pub fn inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    // The continued fraction converges fast on this side; use the symmetry on the other.
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(a, b, x) / a
    } else {
        1.0 - front * beta_cf(b, a, 1.0 - x) / b
    }
}

/// Continued fraction of the incomplete beta function (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// P(T ≤ t) for Student's t with `df` degrees of freedom (df may be fractional).
pub fn student_t_cdf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * inc_beta(df / 2.0, 0.5, df / (df + t * t));
    if t > 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Welch {
    pub t: f64,
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
}

/// Welch's t-test of `a` against `b` (two-sided), as `scipy.stats.ttest_ind(a, b,
/// equal_var=False)`. `None` when either side has fewer than two values. When both sides have
/// zero variance [ours]: p = 1 for equal means, 0 otherwise (scipy returns NaN there).
pub fn welch(a: &[f64], b: &[f64]) -> Option<Welch> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let (va, vb) = (std_dev(a).powi(2) / a.len() as f64, std_dev(b).powi(2) / b.len() as f64);
    let diff = mean(a) - mean(b);
    let se2 = va + vb;
    if se2 == 0.0 {
        let p = if diff == 0.0 { 1.0 } else { 0.0 };
        return Some(Welch { t: if diff == 0.0 { 0.0 } else { diff.signum() * f64::INFINITY }, df: f64::NAN, p });
    }
    let t = diff / se2.sqrt();
    let df = se2 * se2 / (va * va / (a.len() - 1) as f64 + vb * vb / (b.len() - 1) as f64);
    Some(Welch { t, df, p: inc_beta(df / 2.0, 0.5, df / (df + t * t)) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-300) || (a - b).abs() < 1e-15
    }

    #[test]
    fn mean_and_sample_std_by_hand() {
        // [1, 2, 3, 4]: mean 2.5, squared deviations 2.25+0.25+0.25+2.25 = 5, /3 → √(5/3).
        assert_eq!(mean(&[1.0, 2.0, 3.0, 4.0]), 2.5);
        assert!((std_dev(&[1.0, 2.0, 3.0, 4.0]) - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert_eq!(std_dev(&[7.0]), 0.0);
    }

    // python3 tests/reference/welch.py (scipy 1.17.1), sections "lgamma" and "betainc":
    // lgamma(0.5) = 0.5723649429247, lgamma(3.7) = 1.428072326665388, lgamma(25.25) = 55.58568604486943
    // betainc(2, 3, 0.4) = 0.5247999999999999, betainc(0.5, 0.5, 0.2) = 0.2951672353008665,
    // betainc(10.5, 0.5, 0.95) = 0.3050620030574101, betainc(1.35, 0.5, 0.01) = 0.000887369745475819
    #[test]
    fn special_functions_match_scipy() {
        for (x, want) in [(0.5, 0.5723649429247), (3.7, 1.428072326665388), (25.25, 55.58568604486943)] {
            assert!(close(ln_gamma(x), want, 1e-13), "lgamma({x}) = {}", ln_gamma(x));
        }
        for (a, b, x, want) in [
            (2.0, 3.0, 0.4, 0.5247999999999999),
            (0.5, 0.5, 0.2, 0.2951672353008665),
            (10.5, 0.5, 0.95, 0.3050620030574101),
            (1.35, 0.5, 0.01, 0.000887369745475819),
        ] {
            assert!(close(inc_beta(a, b, x), want, 1e-12), "I({a},{b},{x}) = {}", inc_beta(a, b, x));
        }
    }

    // Section "t.cdf": t.cdf(2.0, 3) = 0.9303370157205785, t.cdf(-1.3, 7.5) = 0.11606338940780439,
    // t.cdf(0.0, 4) = 0.5, t.cdf(10.0, 2.2) = 0.9964477681448708
    #[test]
    fn student_t_cdf_matches_scipy() {
        for (t, df, want) in
            [(2.0, 3.0, 0.9303370157205785), (-1.3, 7.5, 0.11606338940780439), (0.0, 4.0, 0.5), (10.0, 2.2, 0.9964477681448708)]
        {
            assert!(close(student_t_cdf(t, df), want, 1e-12), "cdf({t},{df}) = {}", student_t_cdf(t, df));
        }
    }

    // Section "welch": scipy.stats.ttest_ind(a, b, equal_var=False):
    // t = 8.573214099741122, p = 0.0010166626172891215, df = 4.0
    // t = -0.2826167094721095, p = 0.7919346006448876, df = 3.8712214011933463
    // t = 2.3836564731139833, p = 0.06311553631975479, df = 4.976863753213366
    #[test]
    fn welch_matches_scipy() {
        // (a, b, t, p, degrees of freedom)
        type Case<'a> = (&'a [f64], &'a [f64], f64, f64, f64);
        let cases: [Case; 3] = [
            (&[0.91, 0.93, 0.92], &[0.85, 0.86, 0.84], 8.573214099741122, 0.0010166626172891215, 4.0),
            (&[0.90, 0.92, 0.88, 0.91], &[0.89, 0.93, 0.90], -0.2826167094721095, 0.7919346006448876, 3.8712214011933463),
            (&[0.5, 0.6, 0.55, 0.52, 0.58], &[0.51, 0.49], 2.3836564731139833, 0.06311553631975479, 4.976863753213366),
        ];
        for (a, b, t, p, df) in cases {
            let w = welch(a, b).unwrap();
            assert!(close(w.t, t, 1e-10), "t {} vs {t}", w.t);
            assert!(close(w.df, df, 1e-10), "df {} vs {df}", w.df);
            assert!(close(w.p, p, 1e-9), "p {} vs {p}", w.p);
        }
        assert!(welch(&[1.0], &[1.0, 2.0]).is_none());
        assert_eq!(welch(&[0.5, 0.5], &[0.5, 0.5]).unwrap().p, 1.0);
        assert_eq!(welch(&[0.5, 0.5], &[0.4, 0.4]).unwrap().p, 0.0);
    }
}
