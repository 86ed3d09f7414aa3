//! keepalived.conf parser: any bytes must give `Ok` or diagnostics, never a panic, a hang
//! or unbounded memory. `include` is not followed by `load_str`, so no file is read.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match lbd::config::load_str("fuzz.conf", &text) {
        Ok(loaded) => assert!(loaded.warnings.iter().all(|w| !w.is_error())),
        Err(lbd::config::ConfigError::Invalid { diagnostics }) => {
            assert!(diagnostics.iter().any(|d| d.is_error()))
        }
        Err(e) => panic!("load_str does no I/O, yet: {e}"),
    }
});
