//! Kubernetes resource quantities (`500m`, `1Gi`, `1e3`) compared by value.
//!
//! The API server stores quantities in its own canonical spelling, so `0.5` in Git comes
//! back as `500m` and `1024Mi` may come back as `1Gi`. [`Quantity::canonical`] gives one
//! spelling per value so that equal values compare and hash equal.

/// An exact quantity value: `mantissa × 10^exponent`, with the sign kept apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    negative: bool,
    mantissa: u128,
    exponent: i32,
}

const BINARY_SUFFIXES: [(&str, u32); 6] = [
    ("Ki", 1),
    ("Mi", 2),
    ("Gi", 3),
    ("Ti", 4),
    ("Pi", 5),
    ("Ei", 6),
];

const DECIMAL_SUFFIXES: [(&str, i32); 10] = [
    ("n", -9),
    ("u", -6),
    ("m", -3),
    ("", 0),
    ("k", 3),
    ("M", 6),
    ("G", 9),
    ("T", 12),
    ("P", 15),
    ("E", 18),
];

impl Quantity {
    /// Parses a quantity in Kubernetes syntax; `None` when the text is not one.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (negative, rest) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(number_end);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
            return None;
        }
        let mut mantissa: u128 = 0;
        for digit in whole.bytes().chain(fraction.bytes()) {
            mantissa = mantissa
                .checked_mul(10)?
                .checked_add(u128::from(digit - b'0'))?;
        }
        let mut exponent = -i32::try_from(fraction.len()).ok()?;

        if let Some(&(_, power)) = BINARY_SUFFIXES.iter().find(|(s, _)| *s == suffix) {
            mantissa = mantissa.checked_mul(1u128.checked_shl(10 * power)?)?;
        } else if let Some(&(_, power)) = DECIMAL_SUFFIXES.iter().find(|(s, _)| *s == suffix) {
            exponent = exponent.checked_add(power)?;
        } else if let Some(digits) = suffix.strip_prefix(['e', 'E']) {
            let power: i32 = digits.parse().ok()?;
            if !(-64..=64).contains(&power) {
                return None;
            }
            exponent = exponent.checked_add(power)?;
        } else {
            return None;
        }
        Some(Self::normalised(negative, mantissa, exponent))
    }

    fn normalised(negative: bool, mut mantissa: u128, mut exponent: i32) -> Self {
        if mantissa == 0 {
            return Self {
                negative: false,
                mantissa: 0,
                exponent: 0,
            };
        }
        while mantissa.is_multiple_of(10) {
            mantissa /= 10;
            exponent += 1;
        }
        Self {
            negative,
            mantissa,
            exponent,
        }
    }

    /// The value as an integer, when it is one and fits.
    fn as_integer(&self) -> Option<u128> {
        let power = u32::try_from(self.exponent).ok()?;
        self.mantissa.checked_mul(10u128.checked_pow(power)?)
    }

    /// One spelling per value, in the style the API server uses: a binary suffix
    /// when the value is a whole multiple of 1024, else the largest decimal suffix
    /// that keeps the number whole (`500m`, `1G`, `2`).
    pub fn canonical(&self) -> String {
        let sign = if self.negative { "-" } else { "" };
        if let Some(integer) = self.as_integer().filter(|v| *v >= 1024 && v % 1024 == 0) {
            let (mut value, mut power) = (integer, 0usize);
            while power < BINARY_SUFFIXES.len() && value % 1024 == 0 {
                value /= 1024;
                power += 1;
            }
            return format!("{sign}{value}{}", BINARY_SUFFIXES[power - 1].0);
        }
        let suffix_power = (self.exponent.div_euclid(3) * 3).clamp(-9, 18);
        let shift = self.exponent - suffix_power;
        let scaled = u32::try_from(shift)
            .ok()
            .and_then(|s| 10u128.checked_pow(s))
            .and_then(|p| self.mantissa.checked_mul(p));
        match (
            scaled,
            DECIMAL_SUFFIXES.iter().find(|(_, p)| *p == suffix_power),
        ) {
            (Some(value), Some((suffix, _))) => format!("{sign}{value}{suffix}"),
            _ => format!("{sign}{}e{}", self.mantissa, self.exponent),
        }
    }
}

/// Canonical spelling of a quantity written as text or as a JSON number.
pub fn canonical_quantity(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => Quantity::parse(text).map(|q| q.canonical()),
        serde_json::Value::Number(number) => {
            Quantity::parse(&number.to_string()).map(|q| q.canonical())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> String {
        Quantity::parse(text)
            .unwrap_or_else(|| panic!("{text} should parse"))
            .canonical()
    }

    #[test]
    fn equal_values_share_one_spelling() {
        for (a, b) in [
            ("0.5", "500m"),
            ("1024Mi", "1Gi"),
            ("1000M", "1G"),
            ("1", "1000m"),
            ("0.1", "100m"),
            ("1Gi", "1073741824"),
            ("1e3", "1k"),
            ("1.5Gi", "1536Mi"),
            ("+2", "2"),
            ("0", "0m"),
            ("250000u", "250m"),
        ] {
            assert_eq!(canon(a), canon(b), "{a} and {b} are the same quantity");
        }
    }

    #[test]
    fn different_values_differ() {
        for (a, b) in [
            ("500m", "0.6"),
            ("1Gi", "1G"),
            ("256Mi", "512Mi"),
            ("-1", "1"),
        ] {
            assert_ne!(canon(a), canon(b), "{a} and {b} differ");
        }
    }

    #[test]
    fn canonical_spelling_is_readable() {
        assert_eq!(canon("0.5"), "500m");
        assert_eq!(canon("1073741824"), "1Gi");
        assert_eq!(canon("1000M"), "1G");
        assert_eq!(canon("2"), "2");
        assert_eq!(canon("100m"), "100m");
    }

    #[test]
    fn rejects_what_is_not_a_quantity() {
        for bad in ["", "abc", "1.2.3", "Gi", "10X", "1e999", "--1", "."] {
            assert!(Quantity::parse(bad).is_none(), "{bad:?} is not a quantity");
        }
    }

    #[test]
    fn numbers_and_strings_agree() {
        assert_eq!(
            canonical_quantity(&serde_json::json!(0.5)),
            canonical_quantity(&serde_json::json!("500m"))
        );
        assert_eq!(
            canonical_quantity(&serde_json::json!(2)),
            canonical_quantity(&serde_json::json!("2"))
        );
    }
}
