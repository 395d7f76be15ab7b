//! Natural ordering of camera ids: digit runs compare as numbers, so `camera2` < `camera10`.

use std::cmp::Ordering;

/// Compares `a` and `b` chunk by chunk; a digit run is compared by value (without parsing, so any length
/// works), anything else byte by byte. Equal values with different leading zeros fall back to plain order.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let (n, rest_x) = split_digits(x);
                let (m, rest_y) = split_digits(y);
                let (n, m) = (trim_zeros(n), trim_zeros(m));
                let by_value = n.len().cmp(&m.len()).then_with(|| n.cmp(m));
                if by_value != Ordering::Equal {
                    return by_value;
                }
                x = rest_x;
                y = rest_y;
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

fn split_digits(s: &[u8]) -> (&[u8], &[u8]) {
    let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
    s.split_at(n)
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|c| **c == b'0').count();
    &s[n..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_numbers_by_value() {
        let mut ids = vec![
            "camera10",
            "camera2",
            "front_door",
            "camera0",
            "camera1",
            "cam",
            "camera02",
            "a9b",
            "a10b",
        ];
        ids.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            ids,
            vec![
                "a9b",
                "a10b",
                "cam",
                "camera0",
                "camera1",
                "camera02",
                "camera2",
                "camera10",
                "front_door"
            ]
        );
        assert_eq!(
            natural_cmp("camera99999999999999999999999", "camera100000000000000000000000"),
            Ordering::Less
        );
        assert_eq!(natural_cmp("x", "x"), Ordering::Equal);
    }
}
