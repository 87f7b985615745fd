//! Strict parsing of the numbers in RESP lines: lengths, integers, doubles, big
//! numbers.

use crate::error::DecodeError;

pub(super) fn invalid(what: &'static str, text: &[u8]) -> DecodeError {
    let shown = &text[..text.len().min(64)];
    DecodeError::InvalidNumber {
        what,
        text: String::from_utf8_lossy(shown).into_owned(),
    }
}

/// Parses a signed decimal integer strictly: an optional sign, then digits only.
pub(super) fn parse_int(text: &[u8], what: &'static str) -> Result<i64, DecodeError> {
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 19 {
        return Err(invalid(what, text));
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err(invalid(what, text));
        }
        let digit = i64::from(d - b'0');
        n = n
            .checked_mul(10)
            .and_then(|n| {
                if negative {
                    n.checked_sub(digit)
                } else {
                    n.checked_add(digit)
                }
            })
            .ok_or_else(|| invalid(what, text))?;
    }
    Ok(n)
}

pub(super) fn parse_double(text: &[u8]) -> Result<f64, DecodeError> {
    match text {
        b"inf" | b"+inf" => return Ok(f64::INFINITY),
        b"-inf" => return Ok(f64::NEG_INFINITY),
        _ if is_nan(text) => return Ok(f64::NAN),
        _ => {}
    }
    std::str::from_utf8(text)
        .ok()
        .filter(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || b".eE+-".contains(&b))
        })
        .and_then(|s| s.parse::<f64>().ok())
        .ok_or_else(|| invalid("double", text))
}

/// Whether `text` is a NaN as Redis has written it. Since 7.2 that is always `nan`, but
/// before, the server printed whatever its libc did: `-nan`, `NAN`, `nan(0x...)`. The
/// RESP3 specification asks clients to accept them all.
fn is_nan(text: &[u8]) -> bool {
    let unsigned = match text.first() {
        Some(b'-' | b'+') => &text[1..],
        _ => text,
    };
    let Some((word, rest)) = unsigned.split_at_checked(3) else {
        return false;
    };
    word.eq_ignore_ascii_case(b"nan")
        && (rest.is_empty() || (rest.first() == Some(&b'(') && rest.last() == Some(&b')')))
}

pub(super) fn validate_big_number(text: &[u8]) -> Result<(), DecodeError> {
    let digits = match text.first() {
        Some(b'-' | b'+') => &text[1..],
        _ => text,
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid("big number", text));
    }
    Ok(())
}
