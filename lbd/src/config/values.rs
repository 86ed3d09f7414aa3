//! Value parsers shared by the block builders. Each reports what it expected, for which
//! keyword, and what it got, at the statement's line; `None` means "reported, skip".

use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;
use std::time::Duration;

use super::diag::Diagnostics;
use super::model::{ScriptUser, TrackWeight};
use super::tree::Node;

/// The statement's first argument, or an error naming what was expected.
pub fn arg<'n>(d: &mut Diagnostics, n: &Node<'n>, expected: &str) -> Option<&'n str> {
    arg_else(d, n, || expected.to_string())
}

/// [`arg`] with the expectation worded only when it is missing: the common case of a
/// large configuration should not format a message per statement.
fn arg_else<'n>(
    d: &mut Diagnostics,
    n: &Node<'n>,
    expected: impl FnOnce() -> String,
) -> Option<&'n str> {
    let first = n.args.first().copied();
    if first.is_none() {
        d.error(
            &n.at,
            format!("missing value for {}: expected {}", n.keyword, expected()),
        );
    }
    first
}

/// Warns about words after the `used` ones (keepalived ignores them silently).
pub fn no_extra(d: &mut Diagnostics, n: &Node, used: usize) {
    if n.args.len() > used {
        d.warn(
            &n.at,
            format!(
                "extra argument(s) after {} ignored: '{}'",
                n.keyword,
                n.args[used..].join(" ")
            ),
        );
    }
}

/// A single integer argument in `lo..=hi`.
pub fn int<T>(d: &mut Diagnostics, n: &Node, lo: i64, hi: i64) -> Option<T>
where
    T: TryFrom<i64>,
{
    let v = arg_else(d, n, || format!("an integer {lo}..{hi}"))?;
    no_extra(d, n, 1);
    int_value(d, n, v, lo, hi)
}

/// `v` as an integer in `lo..=hi`, reported against `n`'s keyword.
pub fn int_value<T: TryFrom<i64>>(
    d: &mut Diagnostics,
    n: &Node,
    v: &str,
    lo: i64,
    hi: i64,
) -> Option<T> {
    let parsed = v.parse::<i64>().ok().filter(|x| (lo..=hi).contains(x));
    match parsed.and_then(|x| T::try_from(x).ok()) {
        Some(x) => Some(x),
        None => {
            d.error(
                &n.at,
                format!(
                    "expected an integer {lo}..{hi} for {}, got '{v}'",
                    n.keyword
                ),
            );
            None
        }
    }
}

/// A time in seconds (fractions allowed, microsecond resolution) in `lo..=hi` seconds.
pub fn timer(d: &mut Diagnostics, n: &Node, lo: f64, hi: f64) -> Option<Duration> {
    let v = arg_else(d, n, || format!("a time in seconds {lo}..{hi}"))?;
    no_extra(d, n, 1);
    timer_value(v)
        .filter(|t| (lo..=hi).contains(&t.as_secs_f64()))
        .or_else(|| {
            d.error(
                &n.at,
                format!(
                    "expected a time in seconds {lo}..{hi} for {}, got '{v}'",
                    n.keyword
                ),
            );
            None
        })
}

/// Like [`timer`] but out-of-range values are only warned about and ignored, which is what
/// keepalived does for its tuning knobs (e.g. `vrrp_garp_interval 0`).
pub fn lenient_timer(d: &mut Diagnostics, n: &Node, lo: f64, hi: f64) -> Option<Duration> {
    let v = n.args.first()?;
    no_extra(d, n, 1);
    let t = timer_value(v).filter(|t| (lo..=hi).contains(&t.as_secs_f64()));
    if t.is_none() {
        d.warn(
            &n.at,
            format!(
                "{} '{v}' is not a time in seconds {lo}..{hi}; ignored (as keepalived does)",
                n.keyword
            ),
        );
    }
    t
}

/// Seconds as a decimal number, without going through `f64` rounding for whole values.
pub fn timer_value(v: &str) -> Option<Duration> {
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || !all_digits(frac) || frac.len() > 6 {
        return None;
    }
    let secs: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let micros: u32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").parse().ok()?
    };
    Duration::from_secs(secs).checked_add(Duration::from_micros(u64::from(micros)))
}

/// keepalived's `<BOOL>`: no argument means true.
pub fn boolean(d: &mut Diagnostics, n: &Node) -> Option<bool> {
    no_extra(d, n, 1);
    match n.args.first().map(|s| s.to_ascii_lowercase()).as_deref() {
        None | Some("on" | "true" | "yes") => Some(true),
        Some("off" | "false" | "no") => Some(false),
        Some(other) => {
            d.error(
                &n.at,
                format!(
                    "expected on|off|true|false|yes|no (or nothing) for {}, got '{other}'",
                    n.keyword
                ),
            );
            None
        }
    }
}

/// A flag keyword that takes no value.
pub fn flag(d: &mut Diagnostics, n: &Node) -> bool {
    no_extra(d, n, 0);
    true
}

/// A single free-form word (names, paths).
pub fn word(d: &mut Diagnostics, n: &Node, expected: &str) -> Option<String> {
    let v = arg(d, n, expected)?.to_string();
    no_extra(d, n, 1);
    Some(v)
}

/// All the words joined by spaces: script command lines given without quotes.
pub fn command(d: &mut Diagnostics, n: &Node) -> Option<String> {
    arg(d, n, "a command")?;
    Some(n.args.join(" "))
}

pub fn ip(d: &mut Diagnostics, n: &Node, v: &str) -> Option<IpAddr> {
    IpAddr::from_str(v).ok().or_else(|| {
        d.error(
            &n.at,
            format!(
                "expected an IPv4 or IPv6 address for {}, got '{v}'",
                n.keyword
            ),
        );
        None
    })
}

/// A single IP address argument.
pub fn ip_arg(d: &mut Diagnostics, n: &Node) -> Option<IpAddr> {
    let v = arg(d, n, "an IP address")?;
    no_extra(d, n, 1);
    ip(d, n, v)
}

pub fn ipv4(d: &mut Diagnostics, n: &Node, v: &str) -> Option<Ipv4Addr> {
    Ipv4Addr::from_str(v).ok().or_else(|| {
        d.error(
            &n.at,
            format!("expected an IPv4 address for {}, got '{v}'", n.keyword),
        );
        None
    })
}

pub fn port(d: &mut Diagnostics, n: &Node, v: &str) -> Option<u16> {
    int_value(d, n, v, 0, 65535)
}

/// `weight N [reverse]` inside an argument list (`track_interface { eth0 weight 10 }`).
/// Returns `Ok(None)` when there is no `weight`.
pub fn track_weight(d: &mut Diagnostics, n: &Node, args: &[&str]) -> Option<Option<TrackWeight>> {
    let Some(pos) = args.iter().position(|a| *a == "weight") else {
        if let Some(extra) = args.first() {
            d.warn(
                &n.at,
                format!(
                    "unexpected '{extra}' after {} ignored (expected 'weight N')",
                    n.keyword
                ),
            );
        }
        return Some(None);
    };
    let Some(v) = args.get(pos + 1) else {
        d.error(
            &n.at,
            format!(
                "missing value after weight for {}: expected an integer -253..253",
                n.keyword
            ),
        );
        return None;
    };
    let weight = v.parse::<i16>().ok().filter(|w| (-253..=253).contains(w));
    let Some(weight) = weight else {
        let what = if n.keyword == "weight" {
            "weight".to_string()
        } else {
            format!("the weight of {}", n.keyword)
        };
        d.error(
            &n.at,
            format!("expected an integer -253..253 for {what}, got '{v}'"),
        );
        return None;
    };
    let reverse = args.get(pos + 2).is_some_and(|a| *a == "reverse");
    Some(Some(TrackWeight { weight, reverse }))
}

/// `user USER [GROUP]`.
pub fn script_user(d: &mut Diagnostics, n: &Node) -> Option<ScriptUser> {
    let user = arg(d, n, "a user name [group name]")?.to_string();
    no_extra(d, n, 2);
    Some(ScriptUser {
        user,
        group: n.args.get(1).map(|s| s.to_string()),
    })
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j + 1] + 1).min(cur[j] + 1).min(prev[j] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest keyword to `word`, if close enough to be a plausible typo.
pub fn suggest<'k>(word: &str, candidates: &[&'k str]) -> Option<&'k str> {
    let lower = word.to_ascii_lowercase();
    let limit = |c: &str| (c.len() / 3).max(2);
    let len = lower.chars().count();
    candidates
        .iter()
        // The distance is at least the length difference: skip hopeless candidates
        // before the quadratic computation (a stray 60 KB word must stay cheap).
        .filter(|c| len.abs_diff(c.len()) <= limit(c))
        .map(|&c| (distance(&lower, &c.to_ascii_lowercase()), c))
        .filter(|&(dist, c)| dist <= limit(c))
        .min_by_key(|&(dist, _)| dist)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers() {
        assert_eq!(timer_value("1"), Some(Duration::from_secs(1)));
        assert_eq!(timer_value("0.1"), Some(Duration::from_millis(100)));
        assert_eq!(timer_value(".25"), Some(Duration::from_millis(250)));
        assert_eq!(
            timer_value("2.000001"),
            Some(Duration::from_micros(2_000_001))
        );
        assert_eq!(timer_value("1.0000001"), None);
        assert_eq!(timer_value("-1"), None);
        assert_eq!(timer_value("."), None);
        assert_eq!(timer_value("1e3"), None);
        assert!(timer_value("18446744073709551615.999999").is_some());
        assert_eq!(timer_value("18446744073709551616"), None);
        assert_eq!(timer_value("99999999999999999999"), None);
    }

    #[test]
    fn suggestions() {
        let kws = ["virtual_router_id", "priority", "advert_int", "state"];
        assert_eq!(suggest("virtual_routerid", &kws), Some("virtual_router_id"));
        assert_eq!(suggest("priorty", &kws), Some("priority"));
        assert_eq!(suggest("STATE", &kws), Some("state"));
        assert_eq!(suggest("frobnicate", &kws), None);
    }
}
