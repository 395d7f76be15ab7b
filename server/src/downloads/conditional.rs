//! The pure header logic of file downloads (API.md §6.2, RFC 9110 §13–14): the `Range` header (one range
//! served as 206, several as 200, unsatisfiable as 416), the validators (`ETag` `"<size hex>-<mtime ns hex>"`,
//! `Last-Modified`) and the conditionals that use them (`If-None-Match`, `If-Modified-Since`, `If-Range`), and
//! HTTP-date formatting and parsing (IMF-fixdate, RFC 850 and asctime, as recipients must accept).
//!
//! Invariants: nothing here touches the file system or the clock; every function is total on arbitrary header
//! text (no panics, no unbounded allocation), and a malformed header is treated as absent, never as an error,
//! except that a well-formed single range outside the file is [`RangeRequest::Unsatisfiable`].

use std::time::{SystemTime, UNIX_EPOCH};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// What a `Range` header asks of a file of a given size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable range (absent, malformed, another unit, or several ranges): 200 with the whole file.
    Whole,
    /// One satisfiable range, inclusive bounds within the file: 206.
    Partial { start: u64, end: u64 },
    /// One well-formed range that selects nothing: 416 with `Content-Range: bytes */size`.
    Unsatisfiable,
}

/// Parses a `Range` header for a file of `size` bytes (`bytes=a-b`, `bytes=a-`, `bytes=-n`).
pub fn parse_range(header: &str, size: u64) -> RangeRequest {
    let Some((unit, set)) = header.trim().split_once('=') else {
        return RangeRequest::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return RangeRequest::Whole;
    }
    let mut specs = set.split(',').map(str::trim).filter(|s| !s.is_empty());
    let (Some(spec), None) = (specs.next(), specs.next()) else {
        return RangeRequest::Whole;
    };
    let Some((first, last)) = spec.split_once('-') else {
        return RangeRequest::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // Suffix range: the last n bytes.
        let Some(n) = digits(last) else {
            return RangeRequest::Whole;
        };
        if n == 0 || size == 0 {
            return RangeRequest::Unsatisfiable;
        }
        return RangeRequest::Partial {
            start: size - n.min(size),
            end: size - 1,
        };
    }
    let Some(start) = digits(first) else {
        return RangeRequest::Whole;
    };
    let end = if last.is_empty() {
        u64::MAX
    } else {
        match digits(last) {
            Some(end) if end >= start => end,
            _ => return RangeRequest::Whole,
        }
    };
    if start >= size {
        return RangeRequest::Unsatisfiable;
    }
    RangeRequest::Partial {
        start,
        end: end.min(size - 1),
    }
}

/// A non-empty run of ASCII digits; values beyond `u64` saturate (they are past any file's end anyway).
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        s.bytes()
            .fold(0u64, |n, b| n.saturating_mul(10).saturating_add(u64::from(b - b'0'))),
    )
}

/// The strong `ETag` of a file: `"<size hex>-<mtime ns hex>"`.
pub fn etag(size: u64, modified: SystemTime) -> String {
    let nanos = modified.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("\"{size:x}-{nanos:x}\"")
}

/// Seconds since the epoch (what `Last-Modified` and the date conditionals compare; 0 before the epoch).
pub fn unix_seconds(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `If-None-Match` (all header lines joined by commas) against our `etag`: weak comparison; `*` matches any
/// existing file.
pub fn none_match(values: &[&str], etag: &str) -> bool {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// `If-Range`: the range applies only if the validator still matches — an entity tag by strong comparison
/// (a weak tag never matches), or an HTTP-date equal to `Last-Modified`.
pub fn if_range_matches(value: &str, etag: &str, modified_secs: i64) -> bool {
    let value = value.trim();
    if value.starts_with('"') || value.starts_with("W/") {
        return value == etag;
    }
    parse_http_date(value).is_some_and(|t| t == modified_secs)
}

/// `If-Modified-Since`: `true` when the file has not changed since the given date (answer 304). An
/// unparseable date is ignored.
pub fn not_modified_since(value: &str, modified_secs: i64) -> bool {
    parse_http_date(value).is_some_and(|since| modified_secs <= since)
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn format_http_date(unix_secs: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix_secs).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[usize::from(t.weekday().number_days_from_monday())],
        t.day(),
        MONTHS[usize::from(u8::from(t.month()) - 1)],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses the three HTTP-date forms into seconds since the epoch. The weekday is not checked.
pub fn parse_http_date(s: &str) -> Option<i64> {
    let parts: Vec<&str> = s.split_whitespace().take(7).collect();
    let (year, month, day, clock) = match parts.as_slice() {
        // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
        [_, day, month, year, clock, "GMT"] => (year_of(year)?, month_of(month)?, day_of(day)?, *clock),
        // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
        [_, date, clock, "GMT"] => {
            let mut fields = date.split('-');
            let (Some(day), Some(month), Some(yy), None) = (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                return None;
            };
            if yy.len() != 2 {
                return None;
            }
            let yy = i32::try_from(digits(yy)?).ok()?;
            let year = if yy < 70 { 2000 + yy } else { 1900 + yy };
            (year, month_of(month)?, day_of(day)?, *clock)
        }
        // asctime: Sun Nov  6 08:49:37 1994
        [_, month, day, clock, year] => (year_of(year)?, month_of(month)?, day_of(day)?, *clock),
        _ => return None,
    };
    let mut hms = clock.split(':');
    let (Some(h), Some(m), Some(sec), None) = (hms.next(), hms.next(), hms.next(), hms.next()) else {
        return None;
    };
    let two = |v: &str| {
        (v.len() == 2)
            .then(|| digits(v))
            .flatten()
            .and_then(|n| u8::try_from(n).ok())
    };
    let time = Time::from_hms(two(h)?, two(m)?, two(sec)?).ok()?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc().unix_timestamp())
}

fn year_of(s: &str) -> Option<i32> {
    if s.len() != 4 {
        return None;
    }
    i32::try_from(digits(s)?).ok()
}

fn day_of(s: &str) -> Option<u8> {
    if s.is_empty() || s.len() > 2 {
        return None;
    }
    u8::try_from(digits(s)?).ok()
}

fn month_of(s: &str) -> Option<Month> {
    let i = MONTHS.iter().position(|m| *m == s)?;
    Month::try_from(u8::try_from(i + 1).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn single_ranges() {
        use RangeRequest::*;
        assert_eq!(parse_range("bytes=0-9", 100), Partial { start: 0, end: 9 });
        assert_eq!(parse_range("bytes=10-", 100), Partial { start: 10, end: 99 });
        assert_eq!(parse_range("bytes=-10", 100), Partial { start: 90, end: 99 });
        assert_eq!(parse_range("bytes=-1000", 100), Partial { start: 0, end: 99 });
        assert_eq!(parse_range("bytes=50-1000", 100), Partial { start: 50, end: 99 });
        assert_eq!(parse_range("bytes=99-99", 100), Partial { start: 99, end: 99 });
        assert_eq!(parse_range(" Bytes = 1 - 2 ", 100), Partial { start: 1, end: 2 });
        assert_eq!(
            parse_range("bytes=0-99999999999999999999999", 100),
            Partial { start: 0, end: 99 }
        );
        // Empty list elements are allowed around a single range.
        assert_eq!(parse_range("bytes=, 5-6 ,", 100), Partial { start: 5, end: 6 });
    }

    #[test]
    fn unsatisfiable_ranges() {
        use RangeRequest::*;
        assert_eq!(parse_range("bytes=100-", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=110-200", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=99999999999999999999999-", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-", 0), Unsatisfiable);
        assert_eq!(parse_range("bytes=-5", 0), Unsatisfiable);
    }

    #[test]
    fn whole_file_for_multiple_or_malformed_ranges() {
        use RangeRequest::*;
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Whole);
        assert_eq!(parse_range("bytes=0-1, 500-600", 100), Whole);
        for bad in [
            "",
            "bytes",
            "bytes=",
            "bytes=-",
            "bytes=a-b",
            "bytes=5-1",
            "items=0-1",
            "bytes=1",
            "bytes=+1-2",
            "bytes=0x1-2",
            "bytes=é-1",
        ] {
            assert_eq!(parse_range(bad, 100), Whole, "{bad:?}");
        }
    }

    #[test]
    fn etag_format() {
        let t = UNIX_EPOCH + Duration::new(1_736_951_400, 123_456_789);
        assert_eq!(etag(1024, t), format!("\"400-{:x}\"", 1_736_951_400_123_456_789u128));
        assert_eq!(etag(0, UNIX_EPOCH), "\"0-0\"");
    }

    #[test]
    fn conditionals() {
        let tag = "\"400-1\"";
        assert!(none_match(&["\"400-1\""], tag));
        assert!(none_match(&["\"x\", W/\"400-1\""], tag), "weak comparison");
        assert!(none_match(&["\"a\"", "*"], tag));
        assert!(!none_match(&["\"400-2\""], tag));
        assert!(!none_match(&[], tag));

        let secs = 784_111_777; // Sun, 06 Nov 1994 08:49:37 GMT
        assert!(if_range_matches("\"400-1\"", tag, secs));
        assert!(!if_range_matches("W/\"400-1\"", tag, secs), "strong comparison");
        assert!(!if_range_matches("\"400-2\"", tag, secs));
        assert!(if_range_matches("Sun, 06 Nov 1994 08:49:37 GMT", tag, secs));
        assert!(!if_range_matches("Sun, 06 Nov 1994 08:49:38 GMT", tag, secs));
        assert!(!if_range_matches("garbage", tag, secs));

        assert!(not_modified_since("Sun, 06 Nov 1994 08:49:37 GMT", secs));
        assert!(not_modified_since("Mon, 07 Nov 1994 08:49:37 GMT", secs));
        assert!(!not_modified_since("Sun, 06 Nov 1994 08:49:36 GMT", secs));
        assert!(!not_modified_since("yesterday", secs));
    }

    #[test]
    fn http_dates() {
        let secs = 784_111_777;
        assert_eq!(format_http_date(secs), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(secs));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(secs));
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(secs));
        assert_eq!(parse_http_date("Wed, 15 Jan 2025 14:30:00 GMT"), Some(1_736_951_400));
        for bad in [
            "",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1994 25:00:00 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
        for secs in [0, 951_782_400, 1_736_951_400, 4_102_444_799] {
            assert_eq!(parse_http_date(&format_http_date(secs)), Some(secs));
        }
    }
}
