//! Times a reload from the outside: sends SIGHUP to a daemon, then reads one service's
//! destinations until one of them has the expected weight. For the issue-6 benchmark
//! (`benches/scenarios/lvs.py`), which needs a resolution well under the 10 ms it measures:
//! under the test bed's TCG emulation one netlink dump from Python takes ~5 ms, from here a
//! fraction of that.
//!
//! `await_weight PID VIP:PORT RS:PORT WEIGHT TIMEOUT_SECS` prints one JSON line,
//! `{"ms": ..., "polls": ..., "poll_ms": ..., "sent": UNIX-TIME}`, or `{"timed_out": true, "polls": ...}`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ipvs_sys::{Client, ServiceKey};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [pid, vip, rs, weight, timeout] = args.as_slice() else {
        return Err("usage: await_weight PID VIP:PORT RS:PORT WEIGHT TIMEOUT_SECS".into());
    };
    let pid: libc::pid_t = pid.parse()?;
    let service = ServiceKey::tcp(vip.parse::<SocketAddr>()?);
    let rs: SocketAddr = rs.parse()?;
    let weight: u32 = weight.parse()?;
    let timeout = Duration::from_secs_f64(timeout.parse()?);
    let mut client = Client::connect()?;
    // One read first, so that the socket and the code are warm before the clock starts.
    let first = Instant::now();
    client.dests(service)?;
    let warm_poll = first.elapsed();

    let start = Instant::now();
    let sent = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs_f64();
    // SAFETY: kill(2) with a pid and a signal number only sends a signal.
    if unsafe { libc::kill(pid, libc::SIGHUP) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    let mut polls = 0u32;
    loop {
        polls += 1;
        let seen = client
            .dests(service)?
            .iter()
            .any(|d| d.dest.addr == rs && d.dest.weight == weight);
        let waited = start.elapsed();
        if seen {
            println!(
                "{{\"ms\": {:.3}, \"polls\": {polls}, \"poll_ms\": {:.3}, \"sent\": {sent:.6}}}",
                waited.as_secs_f64() * 1000.0,
                warm_poll.as_secs_f64() * 1000.0
            );
            return Ok(());
        }
        if waited > timeout {
            println!("{{\"timed_out\": true, \"polls\": {polls}}}");
            return Ok(());
        }
        // Back to back at first (the < 10 ms goal), then leave the daemon the CPU.
        if waited > Duration::from_millis(50) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
