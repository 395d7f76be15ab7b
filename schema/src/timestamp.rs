//! RFC 3339 timestamp checks (API.md §4.0): a small hand-written parser for timestamp params, so the
//! contract crate needs no date/time dependency. Results use `YYYY-MM-DDTHH:MM:SS.mmmZ`.

/// Parses an RFC 3339 date-time with a mandatory offset (`Z` or `±HH:MM`) and returns the instant as
/// nanoseconds since the Unix epoch. Accepts `T`/`t` as separator, `Z`/`z`, any number of fraction
/// digits (nanosecond precision is kept) and a leap second (`:60`, counted as `:59` + 1 s).
pub fn parse_rfc3339(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut nanos: i128 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        let mut scale: i128 = 100_000_000;
        while let Some(d) = b.get(i).filter(|c| c.is_ascii_digit()) {
            nanos += i128::from(d - b'0') * scale;
            scale /= 10;
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset_secs: i64 = match b.get(i) {
        Some(b'Z' | b'z') if b.len() == i + 1 => 0,
        Some(sign @ (b'+' | b'-')) if b.len() == i + 6 && b[i + 3] == b':' => {
            let oh = digits(b, i + 1, 2)?;
            let om = digits(b, i + 4, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let secs = i64::from(oh * 3600 + om * 60);
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(year), month, day);
    let secs = days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second) - offset_secs;
    Some(i128::from(secs) * 1_000_000_000 + nanos)
}

/// Whether `s` is an RFC 3339 date-time with an offset.
pub fn is_rfc3339(s: &str) -> bool {
    parse_rfc3339(s).is_some()
}

fn digits(b: &[u8], start: usize, len: usize) -> Option<u32> {
    let part = b.get(start..start + len)?;
    part.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn is_leap(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_orders() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2025-01-15T14:30:00.000Z"),
            Some(1_736_951_400_000_000_000)
        );
        assert_eq!(
            parse_rfc3339("2025-01-15T15:30:00+01:00"),
            parse_rfc3339("2025-01-15T14:30:00Z")
        );
        assert_eq!(parse_rfc3339("1970-01-01t00:00:00.5z"), Some(500_000_000));
        assert!(is_rfc3339("2024-02-29T23:59:60-12:30"));
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "2025-01-15",
            "2025-01-15T14:30:00",
            "2025-01-15 14:30:00Z",
            "2025-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2025-01-15T24:00:00Z",
            "2025-01-15T14:30:00.Z",
            "2025-01-15T14:30:00+0100",
            "2025-01-15T14:30:00+01:00x",
            "2025-01-15T14:30:00Zx",
            "２０25-01-15T14:30:00Z",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }
}
