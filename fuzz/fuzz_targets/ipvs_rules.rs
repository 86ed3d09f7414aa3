//! `ipvsadm -R` input (`ipvs_sys::fuzzing::parse_rules`): arbitrary text must give rules or an
//! error, never a panic. Beyond that: at most one rule per input line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let rules = ipvs_sys::fuzzing::parse_rules(data);
    let lines = data.split(|&b| b == b'\n').count();
    assert!(rules <= lines, "{rules} rules from {lines} lines");
});
