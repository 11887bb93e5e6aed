//! Kubernetes resource quantities (`500m`, `2`, `1Gi`, `128974848`, `1e3`)
//! as integers: CPU in millicores, memory in bytes.
//!
//! Pure and total: a quantity that does not parse is `None`, never a panic.
//! Fractions below the unit (a CPU of `0.0001`, a memory of `0.5`) round up,
//! as the apiserver does when it canonicalizes.

/// Binary and decimal suffixes and their multipliers as (numerator,
/// denominator), so `m` (milli) is exact.
const SUFFIXES: &[(&str, u128, u128)] = &[
    ("Ki", 1 << 10, 1),
    ("Mi", 1 << 20, 1),
    ("Gi", 1 << 30, 1),
    ("Ti", 1 << 40, 1),
    ("Pi", 1 << 50, 1),
    ("Ei", 1 << 60, 1),
    ("n", 1, 1_000_000_000),
    ("u", 1, 1_000_000),
    ("m", 1, 1_000),
    ("k", 1_000, 1),
    ("M", 1_000_000, 1),
    ("G", 1_000_000_000, 1),
    ("T", 1_000_000_000_000, 1),
    ("P", 1_000_000_000_000_000, 1),
    ("E", 1_000_000_000_000_000_000, 1),
];

/// `text` times `scale`, rounded up: `parse_scaled("500m", 1000)` is 500
/// (millicores), `parse_scaled("1Gi", 1)` is 1073741824 (bytes).
pub fn parse_scaled(text: &str, scale: u128) -> Option<u128> {
    let text = text.trim();
    let (number, num, den) = split_suffix(text)?;
    let (mantissa, exponent) = match number.find(['e', 'E']) {
        Some(i) => (&number[..i], number[i + 1..].parse::<i32>().ok()?),
        None => (number, 0),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 18
    {
        return None;
    }
    let digits: u128 = format!("{int}{frac}")
        .trim_start_matches('0')
        .parse()
        .unwrap_or(0);
    // value = digits · 10^(exponent − frac.len()) · num / den · scale
    let shift = exponent.checked_sub(i32::try_from(frac.len()).ok()?)?;
    let mut top = digits.checked_mul(num)?.checked_mul(scale)?;
    let mut bottom = den;
    if shift >= 0 {
        top = top.checked_mul(10u128.checked_pow(u32::try_from(shift).ok()?)?)?;
    } else {
        bottom = bottom.checked_mul(10u128.checked_pow(u32::try_from(-shift).ok()?)?)?;
    }
    Some(top.div_ceil(bottom))
}

/// CPU in millicores.
pub fn millicores(text: &str) -> Option<u128> {
    parse_scaled(text, 1_000)
}

/// Memory in bytes.
pub fn bytes(text: &str) -> Option<u128> {
    parse_scaled(text, 1)
}

fn split_suffix(text: &str) -> Option<(&str, u128, u128)> {
    for (suffix, num, den) in SUFFIXES {
        if let Some(number) = text.strip_suffix(suffix) {
            // `1e3` ends with a digit; `2E` (exa) does not start an exponent.
            return Some((number, *num, *den));
        }
    }
    Some((text, 1, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_and_memory_forms() {
        assert_eq!(millicores("500m"), Some(500));
        assert_eq!(millicores("2"), Some(2000));
        assert_eq!(millicores("0.25"), Some(250));
        assert_eq!(millicores("1e3"), Some(1_000_000));
        assert_eq!(millicores("100u"), Some(1), "rounds up");
        assert_eq!(bytes("1Gi"), Some(1 << 30));
        assert_eq!(bytes("128974848"), Some(128_974_848));
        assert_eq!(bytes("129M"), Some(129_000_000));
        assert_eq!(bytes("1.5Ki"), Some(1536));
        assert_eq!(bytes("2E"), Some(2_000_000_000_000_000_000));
    }

    #[test]
    fn garbage_is_none() {
        for bad in ["", "abc", "1.2.3", "-1", "1x", "Gi", "1e", "1e999999999"] {
            assert_eq!(bytes(bad), None, "{bad}");
        }
    }
}
