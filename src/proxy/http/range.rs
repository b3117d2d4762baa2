//! The `Range` request header (RFC 9110 §14): one byte range of a
//! representation, or the whole of it.

/// A byte range of a representation of `len` bytes, from a `Range` header.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeAnswer {
    /// No usable Range: send everything.
    Full,
    Partial {
        start: u64,
        end: u64,
    },
    Unsatisfiable,
}

/// Pure. Only one range is served; several, or malformed syntax, fall back
/// to the whole representation as RFC 9110 allows.
pub fn parse_range(value: &str, len: u64) -> RangeAnswer {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeAnswer::Full;
    };
    if spec.contains(',') {
        return RangeAnswer::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAnswer::Full;
    };
    // 1*DIGIT, nothing else: `str::parse` would also take a sign, and
    // whitespace inside the range is not the list's OWS.
    let parse = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    match (first.is_empty(), last.is_empty()) {
        (true, true) => RangeAnswer::Full,
        (true, false) => match parse(last) {
            None => RangeAnswer::Full,
            Some(0) => RangeAnswer::Unsatisfiable,
            Some(_) if len == 0 => RangeAnswer::Unsatisfiable,
            Some(n) => RangeAnswer::Partial {
                start: len.saturating_sub(n),
                end: len - 1,
            },
        },
        (false, _) => {
            let Some(start) = parse(first) else {
                return RangeAnswer::Full;
            };
            let end = if last.is_empty() {
                Some(u64::MAX)
            } else {
                parse(last)
            };
            match end {
                None => RangeAnswer::Full,
                Some(end) if end < start => RangeAnswer::Full,
                Some(_) if start >= len => RangeAnswer::Unsatisfiable,
                Some(end) => RangeAnswer::Partial {
                    start,
                    end: end.min(len - 1),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeAnswer::*;
        assert_eq!(parse_range("bytes=0-9", 100), Partial { start: 0, end: 9 });
        assert_eq!(
            parse_range("bytes=90-", 100),
            Partial { start: 90, end: 99 }
        );
        assert_eq!(
            parse_range("bytes=-10", 100),
            Partial { start: 90, end: 99 }
        );
        assert_eq!(
            parse_range("bytes=-500", 100),
            Partial { start: 0, end: 99 }
        );
        assert_eq!(
            parse_range("bytes=50-500", 100),
            Partial { start: 50, end: 99 }
        );
        assert_eq!(parse_range("bytes=100-", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Full);
        assert_eq!(parse_range("bytes=9-1", 100), Full);
        assert_eq!(parse_range("items=0-1", 100), Full);
        assert_eq!(parse_range("bytes=x-1", 100), Full);
        assert_eq!(
            parse_range(" bytes=0-9 ", 100),
            Partial { start: 0, end: 9 }
        );
        assert_eq!(
            parse_range("bytes= 0-9\t", 100),
            Partial { start: 0, end: 9 }
        );
        assert_eq!(parse_range("bytes=+5-9", 100), Full);
        assert_eq!(parse_range("bytes=-+5", 100), Full);
        assert_eq!(parse_range("bytes=0 - 9", 100), Full);
    }
}

/// Property tests: `parse_range` keeps inside the representation and
/// agrees with a brute-force reading of RFC 9110 §14.
#[cfg(test)]
mod properties {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;

    /// A Range value: mostly well-formed `bytes=` ranges with numbers near
    /// the length, sometimes slightly off, sometimes noise; all of it
    /// what a header value can hold.
    fn range_value() -> impl Strategy<Value = String> {
        let number = prop_oneof![
            4 => (0u64..1200).prop_map(|n| n.to_string()),
            1 => Just("99999999999999999999999".to_string()),
            1 => prop::sample::select(&["+5", "-", "0x10", "00012", " 7", "7 ", "", "1e3"][..])
                .prop_map(str::to_string),
        ];
        let ws = prop::sample::select(&["", "", "", " ", "\t", " \t"][..]);
        let unit = prop::sample::select(
            &[
                "bytes=", "bytes=", "bytes=", "Bytes=", "bytes =", "items=", "",
            ][..],
        );
        let structured = (
            ws.clone(),
            unit,
            ws.clone(),
            prop::option::of(number.clone()),
            ws.clone(),
            prop::option::of(number),
            prop::sample::select(&["", "", ",", ", 0-1", ",-3"][..]),
            ws,
        )
            .prop_map(|(w0, unit, w1, first, w2, last, more, w3)| {
                let (first, last) = (first.unwrap_or_default(), last.unwrap_or_default());
                format!("{w0}{unit}{w1}{first}-{last}{more}{w2}{w3}")
            });
        prop_oneof![
            4 => structured,
            1 => "[ \t!-~]{0,20}",
            1 => vec(prop::sample::select("bytes=-,019 ".chars().collect::<Vec<_>>()), 0..16)
                .prop_map(|cs| cs.into_iter().collect()),
        ]
    }

    /// RFC 9110 §14.1-14.2 by brute force over a small representation:
    /// the bytes a single range selects, as a range, or none. What the
    /// server chooses to ignore (a RFC 9110 §14.2 "MAY") is ignored
    /// here too: several ranges, a unit not written `bytes`, numbers past
    /// u64, and invalid syntax all give the full representation.
    fn reference_range(value: &str, len: u64) -> RangeAnswer {
        let ows = |c: char| c == ' ' || c == '\t';
        let Some(set) = value.trim_matches(ows).strip_prefix("bytes=") else {
            return RangeAnswer::Full;
        };
        let specs: Vec<&str> = set.split(',').collect();
        let [spec] = specs[..] else {
            return RangeAnswer::Full;
        };
        let number = |s: &str| -> Option<u64> {
            if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        };
        let Some((first, last)) = spec.trim_matches(ows).split_once('-') else {
            return RangeAnswer::Full;
        };
        let selected: Vec<u64> = if first.is_empty() {
            // suffix-range: the last n bytes.
            let Some(n) = number(last) else {
                return RangeAnswer::Full;
            };
            (0..len).filter(|&i| len - i <= n).collect()
        } else {
            // int-range: first-pos to last-pos (or the end), inclusive.
            let Some(first) = number(first) else {
                return RangeAnswer::Full;
            };
            let last = match last {
                "" => u64::MAX,
                last => match number(last) {
                    Some(last) if last >= first => last,
                    _ => return RangeAnswer::Full,
                },
            };
            (0..len).filter(|&i| first <= i && i <= last).collect()
        };
        match (selected.first(), selected.last()) {
            (Some(&start), Some(&end)) => RangeAnswer::Partial { start, end },
            _ => RangeAnswer::Unsatisfiable,
        }
    }

    proptest! {
        #![proptest_config(crate::proxy::properties(512))]

        #[test]
        fn any_range_value_gives_a_range_inside_the_representation(
            value in any::<String>(),
            len in any::<u64>(),
        ) {
            if let RangeAnswer::Partial { start, end } = parse_range(&value, len) {
                prop_assert!(start <= end && end < len, "{value:?} {len}: {start}-{end}");
            }
        }

        #[test]
        fn ranges_agree_with_rfc_9110(value in range_value(), len in 0u64..1100) {
            let want = reference_range(&value, len);
            prop_assert_eq!(parse_range(&value, len), want, "{:?} of {}", value, len);
        }
    }
}
