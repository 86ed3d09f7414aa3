//! What a keepalived track file holds: one integer, read the way keepalived 2.2.7's
//! `process_track_file` (trackers/track_file.c) reads it.
//!
//! keepalived has one track file framework for both of its users, the VRRP instances that
//! track a `track_file` (`vrrp_track_file`) and the virtual servers' `FILE_CHECK`s, so the
//! same file content must mean the same value to both. This module is that one reading;
//! it does no I/O ([`crate::daemon::tracking::read_track_file`] reads the file), and what a
//! value then does is each side's own business ([`crate::lvs::file_check`] for a real
//! server, the VRRP engine's weighted trackers for an instance).

/// The at most this many bytes keepalived reads from the file.
pub const READ_MAX: usize = 127;

/// One reading of the file: a value, or a number keepalived refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    Value(i64),
    /// The number is out of range: keepalived logs `Invalid number N read from PATH -
    /// ignoring` and keeps the previous value.
    Invalid(i64),
}

/// The file's contents as keepalived reads them: C's `strtol(text, NULL, 0)` on the first
/// [`READ_MAX`] bytes (leading white space, a sign, then `0x` hex, `0` octal or decimal; what
/// follows the digits is ignored, no digits at all is 0), accepted within
/// `i32::MIN..=i32::MAX + 1`. An empty file is 0.
pub fn parse(bytes: &[u8]) -> Reading {
    let bytes = &bytes[..bytes.len().min(READ_MAX)];
    // strtol stops at the first NUL like at any non-digit.
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let mut rest = &bytes[..end];
    while let [b, tail @ ..] = rest {
        // C's isspace: space, \t, \n, \v, \f, \r.
        if matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
            rest = tail;
        } else {
            break;
        }
    }
    let negative = match rest {
        [b'-', tail @ ..] => {
            rest = tail;
            true
        }
        [b'+', tail @ ..] => {
            rest = tail;
            false
        }
        _ => false,
    };
    let radix = match rest {
        [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit() => {
            rest = &rest[2..];
            16
        }
        [b'0', ..] => 8,
        _ => 10,
    };
    // Accumulated as a magnitude; anything past i64's range is strtol's ERANGE.
    let mut magnitude: u64 = 0;
    let mut overflow = false;
    for &b in rest {
        let Some(digit) = (b as char).to_digit(radix) else {
            break;
        };
        match magnitude
            .checked_mul(u64::from(radix))
            .and_then(|m| m.checked_add(u64::from(digit)))
        {
            Some(m) => magnitude = m,
            None => overflow = true,
        }
    }
    let limit = if negative {
        i64::MIN.unsigned_abs()
    } else {
        i64::MAX as u64
    };
    if overflow || magnitude > limit {
        return Reading::Invalid(if negative { i64::MIN } else { i64::MAX });
    }
    let value = if negative {
        0i64.wrapping_sub_unsigned(magnitude)
    } else {
        magnitude as i64
    };
    if value < i64::from(i32::MIN) || value > i64::from(i32::MAX) + 1 {
        Reading::Invalid(value)
    } else {
        Reading::Value(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtol_base_zero() {
        for (text, want) in [
            ("5", 5),
            ("  \t\n-3 trailing", -3),
            ("+7\n", 7),
            ("0x1F", 31),
            ("0X1f", 31),
            ("-0x10", -16),
            ("010", 8),
            ("08", 0),
            ("0x", 0),
            ("0xg", 0),
            ("x", 0),
            ("", 0),
            ("-", 0),
            ("12abc", 12),
            ("2147483648", 2_147_483_648),
            ("-2147483648", -2_147_483_648),
        ] {
            assert_eq!(parse(text.as_bytes()), Reading::Value(want), "{text:?}");
        }
        assert_eq!(parse(b"7\x009"), Reading::Value(7));
    }

    #[test]
    fn out_of_range_values_are_refused() {
        assert_eq!(
            parse(b"2147483649"),
            Reading::Invalid(2_147_483_649),
            "INT32_MAX + 1 is the last accepted"
        );
        assert_eq!(parse(b"-2147483649"), Reading::Invalid(-2_147_483_649));
        assert_eq!(parse(b"99999999999999999999"), Reading::Invalid(i64::MAX));
        assert_eq!(parse(b"-99999999999999999999"), Reading::Invalid(i64::MIN));
        assert_eq!(parse(b"0xffffffff"), Reading::Invalid(0xffff_ffff));
    }

    #[test]
    fn only_the_first_127_bytes_count() {
        let mut text = vec![b' '; READ_MAX - 1];
        text.extend_from_slice(b"42");
        assert_eq!(parse(&text), Reading::Value(4));
    }
}
