use std::fmt;

/// A point or span of time in a recording, in whole microseconds.
///
/// Times are integers so storage can index them and so that summing v3
/// intervals cannot drift. In text they are seconds: see the `Display` impl.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Micros(pub u64);

/// Why a time's text is not a valid time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Not a JSON number (a string, `null`, `NaN`, ...).
    #[error("expected a number of seconds such as 1.5")]
    NotANumber,
    /// A number below zero.
    #[error("must not be negative")]
    Negative,
    /// More than `u64::MAX` microseconds (about 584,000 years).
    #[error("is too large")]
    TooLarge,
}

impl Micros {
    /// Zero, the start of a recording.
    pub const ZERO: Self = Self(0);
    const PER_SEC: u64 = 1_000_000;

    /// The time in seconds: the `f64` nearest to its exact decimal value,
    /// which is what parsing its text (`12.000003`) gives, computed without
    /// the text.
    pub fn as_seconds(self) -> f64 {
        // Up to 2^53 the count is exact as an `f64` and one correctly rounded
        // division gives the nearest value.
        const EXACT: u64 = 1 << 53;
        if self.0 <= EXACT {
            return self.0 as f64 / 1e6;
        }
        // Beyond that (285 years), divide by 5^6 in two exact parts and then by
        // 2^6, which is exact: the fraction's rounding (below 2^-53) cannot move
        // the sum across a halfway point, which is at least 2^-28 away from any
        // b / 15625 with 0 < b < 15625 once the whole part passes 2^39.
        let (whole, rest) = (self.0 / 15_625, self.0 % 15_625);
        (whole as f64 + rest as f64 / 15_625.0) / 64.0
    }

    /// Whole seconds.
    pub fn from_secs(secs: u64) -> Self {
        Self(secs.saturating_mul(Self::PER_SEC))
    }

    /// The sum, or `None` on overflow.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }

    /// Parses a JSON number of seconds (`12.5`, `3`, `1e-06`, `0.300000`)
    /// exactly into microseconds, from its decimal text and never through
    /// `f64`. Digits beyond the sixth decimal are rounded half up. `-0` is zero.
    pub fn parse_seconds(text: &str) -> Result<Self, TimeError> {
        let number = DecimalText::split(text.as_bytes()).ok_or(TimeError::NotANumber)?;
        number.to_micros()
    }
}

/// Seconds with up to six decimals, trailing zeros trimmed but at least one
/// digit after the point: `0.0`, `1.5`, `12.000003`, `3600.0`. This is what
/// the asciinema recorder writes and what `parse_seconds` reads back exactly.
impl fmt::Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0 / Self::PER_SEC;
        let mut frac = self.0 % Self::PER_SEC;
        if frac == 0 {
            return write!(f, "{secs}.0");
        }
        let mut width = 6;
        while frac.is_multiple_of(10) {
            frac /= 10;
            width -= 1;
        }
        write!(f, "{secs}.{frac:0width$}")
    }
}

/// The parts of a number in JSON syntax: `-? digits (. digits)? ([eE] [+-]? digits)?`.
struct DecimalText<'a> {
    negative: bool,
    int: &'a [u8],
    frac: &'a [u8],
    exp: i64,
}

impl<'a> DecimalText<'a> {
    /// Exponents beyond this mean overflow or zero; clamping keeps the
    /// arithmetic below far away from `i64` limits.
    const EXP_LIMIT: i64 = 1_000_000;

    fn split(text: &'a [u8]) -> Option<Self> {
        let (negative, rest) = match text.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, text),
        };
        let (int, rest) = split_digits(rest);
        if int.is_empty() {
            return None;
        }
        let (frac, rest) = match rest.split_first() {
            Some((b'.', rest)) => {
                let (frac, rest) = split_digits(rest);
                if frac.is_empty() {
                    return None;
                }
                (frac, rest)
            }
            _ => (&[][..], rest),
        };
        let (exp, rest) = match rest.split_first() {
            Some((b'e' | b'E', rest)) => {
                let (sign, rest) = match rest.split_first() {
                    Some((b'-', rest)) => (-1, rest),
                    Some((b'+', rest)) => (1, rest),
                    _ => (1, rest),
                };
                let (digits, rest) = split_digits(rest);
                if digits.is_empty() {
                    return None;
                }
                let magnitude = digits.iter().fold(0i64, |acc, d| {
                    acc.saturating_mul(10).saturating_add(i64::from(d - b'0')).min(Self::EXP_LIMIT)
                });
                (sign * magnitude, rest)
            }
            _ => (0, rest),
        };
        rest.is_empty().then_some(Self { negative, int, frac, exp })
    }

    fn to_micros(&self) -> Result<Micros, TimeError> {
        // All digits as one integer `digits * 10^(scale)` microseconds.
        let digits: Vec<u8> = self.int.iter().chain(self.frac).map(|d| d - b'0').collect();
        let leading = digits.iter().take_while(|&&d| d == 0).count();
        let trailing = digits.iter().rev().take_while(|&&d| d == 0).count();
        let significant = match digits.get(leading..digits.len().saturating_sub(trailing)) {
            Some(s) if !s.is_empty() => s,
            _ => return Ok(Micros::ZERO),
        };
        if self.negative {
            return Err(TimeError::Negative);
        }
        let frac_len = i64::try_from(self.frac.len()).unwrap_or(i64::MAX);
        let trailing = i64::try_from(trailing).unwrap_or(i64::MAX);
        let scale = self.exp.saturating_sub(frac_len).saturating_add(trailing).saturating_add(6);
        let len = i64::try_from(significant.len()).unwrap_or(i64::MAX);

        // u64::MAX has 20 digits; anything with more integer digits overflows.
        const MAX_DIGITS: i64 = 20;
        let (kept, round_up) = if scale >= 0 {
            if len.saturating_add(scale) > MAX_DIGITS {
                return Err(TimeError::TooLarge);
            }
            (significant, false)
        } else {
            let dropped = scale.saturating_neg();
            if dropped > len {
                // Less than 0.1 µs.
                return Ok(Micros::ZERO);
            }
            let keep = usize::try_from(len - dropped).unwrap_or(usize::MAX);
            if i64::try_from(keep).unwrap_or(i64::MAX) > MAX_DIGITS {
                return Err(TimeError::TooLarge);
            }
            let round_up = significant.get(keep).is_some_and(|&d| d >= 5);
            (significant.get(..keep).unwrap_or_default(), round_up)
        };

        let mut value: u128 = kept.iter().fold(0, |acc, &d| acc * 10 + u128::from(d));
        if scale > 0 {
            let power = u32::try_from(scale).map_err(|_| TimeError::TooLarge)?;
            value = 10u128
                .checked_pow(power)
                .and_then(|p| value.checked_mul(p))
                .ok_or(TimeError::TooLarge)?;
        }
        value += u128::from(round_up);
        u64::try_from(value).map(Micros).map_err(|_| TimeError::TooLarge)
    }
}

fn split_digits(text: &[u8]) -> (&[u8], &[u8]) {
    let n = text.iter().take_while(|b| b.is_ascii_digit()).count();
    text.split_at_checked(n).unwrap_or((text, &[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `as_seconds` replaces: the text of the time, parsed.
    fn through_text(time: Micros) -> f64 {
        time.to_string().parse().unwrap_or(f64::NAN)
    }

    #[test]
    fn seconds_equal_the_parsed_text() {
        let mut samples = vec![
            0,
            1,
            5,
            100_000,
            300_000,
            1_000_000,
            1_250_000,
            12_000_003,
            123_456_789,
            3_600_000_000,
            (1 << 53) - 1,
            1 << 53,
            (1 << 53) + 1,
            (1 << 53) + 15_625,
            u64::MAX / 2,
            u64::MAX - 1,
            u64::MAX,
        ];
        // A deterministic spread over every magnitude (xorshift).
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            samples.push(x >> (x % 64));
        }
        for m in samples {
            let time = Micros(m);
            assert_eq!(time.as_seconds().to_bits(), through_text(time).to_bits(), "{m} µs");
        }
    }

    fn parse(s: &str) -> Result<u64, TimeError> {
        Micros::parse_seconds(s).map(|m| m.0)
    }

    #[test]
    fn parses_decimal_text_exactly() {
        assert_eq!(parse("0"), Ok(0));
        assert_eq!(parse("0.0"), Ok(0));
        assert_eq!(parse("-0"), Ok(0));
        assert_eq!(parse("-0.000"), Ok(0));
        assert_eq!(parse("1"), Ok(1_000_000));
        assert_eq!(parse("0.1"), Ok(100_000));
        assert_eq!(parse("0.3"), Ok(300_000));
        assert_eq!(parse("0.000001"), Ok(1));
        assert_eq!(parse("12.345678"), Ok(12_345_678));
        assert_eq!(parse("12.300000"), Ok(12_300_000));
        assert_eq!(parse("1e-06"), Ok(1));
        assert_eq!(parse("1E-6"), Ok(1));
        assert_eq!(parse("2.5e3"), Ok(2_500_000_000));
        assert_eq!(parse("2.5E+3"), Ok(2_500_000_000));
        assert_eq!(parse("123456e-6"), Ok(123_456));
        assert_eq!(parse("1.00000000000000000000000000"), Ok(1_000_000));
        assert_eq!(parse("0.0000000000000000000000001"), Ok(0));
        assert_eq!(parse("1e-999999999999999999999"), Ok(0));
    }

    #[test]
    fn rounds_sub_microsecond_digits_half_up() {
        assert_eq!(parse("0.0000004"), Ok(0));
        assert_eq!(parse("0.0000005"), Ok(1));
        assert_eq!(parse("0.00000049999"), Ok(0));
        assert_eq!(parse("1.2345675"), Ok(1_234_568));
        assert_eq!(parse("0.9999995"), Ok(1_000_000));
    }

    #[test]
    fn rejects_bad_times() {
        for text in
            ["", "-", "abc", "NaN", "Infinity", "-Infinity", "1.", ".5", "1e", "1e+", "\"1\""]
        {
            assert_eq!(parse(text), Err(TimeError::NotANumber), "{text:?}");
        }
        for text in ["1 ", " 1", "1.5s", "0x10", "1..2", "1e5e5", "--1", "+1"] {
            assert_eq!(parse(text), Err(TimeError::NotANumber), "{text:?}");
        }
        for text in ["-1", "-0.000001", "-1e-9", "-12.5"] {
            assert_eq!(parse(text), Err(TimeError::Negative), "{text:?}");
        }
        for text in ["18446744073709.551616", "1e20", "1e999999999999", "99999999999999999999999"] {
            assert_eq!(parse(text), Err(TimeError::TooLarge), "{text:?}");
        }
        assert_eq!(parse("18446744073709.551615"), Ok(u64::MAX));
        assert_eq!(parse("18446744073709.5516154"), Ok(u64::MAX));
        assert_eq!(parse("18446744073709.5516155"), Err(TimeError::TooLarge));
    }

    #[test]
    fn formats_canonically() {
        let cases = [
            (0, "0.0"),
            (1, "0.000001"),
            (100_000, "0.1"),
            (1_000_001, "1.000001"),
            (12_300_000, "12.3"),
            (12_000_003, "12.000003"),
            (3_600_000_000, "3600.0"),
            (u64::MAX, "18446744073709.551615"),
        ];
        for (micros, text) in cases {
            assert_eq!(Micros(micros).to_string(), text);
            assert_eq!(parse(text), Ok(micros));
        }
    }
}
