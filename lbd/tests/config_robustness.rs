//! No input makes the parser panic, hang or blow up: mutated real configurations, random
//! bytes, truncations and pathological nesting/expansion, all through `load_str`.

use std::path::Path;
use std::time::{Duration, Instant};

use lbd::config::{load_str, ConfigError};

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Fragments that exercise every lexer/parser path.
const PIECES: &[&str] = &[
    "{",
    "}",
    "{ }",
    "\"",
    "'",
    "\\",
    "\\\n",
    "\n",
    "\r\n",
    "\t",
    " ",
    "#",
    "!",
    "$X=",
    "$X=a \\\n b",
    "${X}",
    "$X ",
    "$Y=$X $X",
    "@",
    "@^",
    "@x ",
    "include x.conf",
    "vrrp_instance",
    "virtual_server",
    "real_server",
    "HTTP_GET",
    "url",
    "virtual_ipaddress",
    "track_script",
    "global_defs",
    "vrrp_sync_group",
    "group",
    "0",
    "256",
    "-1",
    "0.01",
    "1e9",
    "99999999999999999999.9",
    "192.0.2.1",
    "192.0.2.1/33",
    "2001:db8::1",
    "fwmark",
    "weight",
    "dev",
    "brd",
    "éü中文",
    "\u{0}",
    "\u{feff}",
    "\"a\\x41\\101\\c",
    "virtual_router_id",
    "advert_int",
    "version 3",
];

fn mutate(rng: &mut Rng, seed: &str) -> String {
    let mut bytes = seed.as_bytes().to_vec();
    for _ in 0..=rng.below(8) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(5) {
            0 => {
                let piece = PIECES[rng.below(PIECES.len())].as_bytes();
                bytes.splice(at..at, piece.iter().copied());
            }
            1 => {
                let end = (at + rng.below(40)).min(bytes.len());
                bytes.drain(at..end);
            }
            2 => {
                let b = rng.next() as u8;
                if at < bytes.len() {
                    bytes[at] = b;
                }
            }
            3 => {
                // Duplicate a slice (repeats blocks, names, braces).
                let end = (at + rng.below(200)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                let to = rng.below(bytes.len() + 1);
                bytes.splice(to..to, copy);
            }
            _ => bytes.truncate(at),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn seeds() -> Vec<String> {
    let mut out = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in [root.join("tests/data/shared"), root.join("../examples")] {
        for e in std::fs::read_dir(dir).unwrap() {
            out.push(std::fs::read_to_string(e.unwrap().path()).unwrap());
        }
    }
    assert!(out.len() >= 10);
    out
}

/// Parses and checks the result is self-consistent: errors only in `Err`, never in `Ok`.
fn check(text: &str) {
    match load_str("fuzz.conf", text) {
        Ok(l) => assert!(l.warnings.iter().all(|w| !w.is_error())),
        Err(ConfigError::Invalid { diagnostics }) => {
            assert!(diagnostics.iter().any(|d| d.is_error()));
            assert!(diagnostics.iter().all(|d| d.line >= 1));
        }
        Err(e) => panic!("unexpected {e}"),
    }
}

#[test]
fn mutated_real_configs_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut runs = 0;
    let mut slowest = (Duration::ZERO, String::new());
    for seed in seeds() {
        for _ in 0..250 {
            let text = mutate(&mut rng, &seed);
            let t = Instant::now();
            check(&text);
            if t.elapsed() > slowest.0 {
                slowest = (t.elapsed(), text);
            }
            runs += 1;
        }
    }
    eprintln!("slowest: {:?} for {} bytes", slowest.0, slowest.1.len());
    if std::env::var_os("LBD_SHOW_SLOWEST").is_some() {
        eprintln!("{}", slowest.1);
    }
    assert!(runs >= 2500);
}

#[test]
fn random_token_soup_never_panics() {
    let mut rng = Rng(42);
    for _ in 0..2000 {
        let n = rng.below(60);
        let text: String = (0..n)
            .map(|_| PIECES[rng.below(PIECES.len())])
            .collect::<Vec<_>>()
            .join(" ");
        check(&text);
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(7);
    for _ in 0..1000 {
        let bytes: Vec<u8> = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
        check(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn every_prefix_of_a_real_config_is_handled() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/shared/ssl-get-track-interface.conf"),
    )
    .unwrap();
    for (i, _) in text.char_indices() {
        check(&text[..i]);
    }
}

#[test]
fn pathological_inputs_are_bounded() {
    // Deep nesting, unbalanced both ways.
    check(&"a {".repeat(100_000));
    check(&"}".repeat(100_000));
    // Exponential parameter expansion: each level doubles.
    let mut text = String::from("$P0=xxxxxxxxxxxxxxxx\n");
    for i in 1..40 {
        text.push_str(&format!("$P{i}=${{P{}}} ${{P{}}}\n", i - 1, i - 1));
    }
    text.push_str(&"router_id $P39\n".repeat(1000));
    assert_runaway(&text);
    // Self-reference and mutual reference.
    assert_runaway("$A=$B\n$B=$A\n$A\n");
    // A huge multi-line definition used many times.
    let big = format!(
        "$M= \\\n{}x\n{}",
        "vrrp_script s {\\\n".repeat(5000),
        "$M\n".repeat(1000)
    );
    assert_runaway(&big);
    // Many lines, each expanding a large (but allowed) value: the total is capped.
    let wide = format!("$W={}\n{}", "w".repeat(60_000), "$W\n".repeat(1000));
    assert_runaway(&wide);
}

/// The expansion is stopped with one error, not carried out.
fn assert_runaway(text: &str) {
    let Err(ConfigError::Invalid { diagnostics }) = load_str("t.conf", text) else {
        panic!("runaway expansion accepted");
    };
    let runaway: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.message.starts_with("parameter substitution"))
        .collect();
    assert_eq!(runaway.len(), 1, "{runaway:?}");
}
