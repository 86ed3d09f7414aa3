#!/usr/bin/env python3
"""Virtual servers at scale, lbd vs keepalived 2.2.7 (issue 6): the part that runs in the VM.

`lvs.sh` boots the test-bed VM and runs `lvs.py run ...` inside it; then, on the host,
`lvs.py report lvs.json` turns the figures into markdown. For each daemon, in a fresh network
namespace: listeners for every real server, the generated config (VS x RS, NAT, wrr,
TCP_CHECK), then
  1. cold start: spawn until /proc/net/ip_vs holds the full table (wall, and the daemon's CPU);
  2. memory: VmRSS of the daemon's processes 10 s after the full table;
  3. reload: one weight changed in the file, SIGHUP, until a netlink dump of that service shows
     the new weight (dumped in a loop, one service only, so polling stays cheap); then a
     second time (2 -> 3), because under TCG the first run of the reload's code includes its
     translation; lbd's own apply time and request count from its /metrics; the table still
     full afterwards;
  4. VmHWM after the reload; SIGTERM.
The daemons get RLIMIT_NOFILE 1024 soft / 524288 hard (systemd's default), so a daemon that
needs more descriptors has to raise its own soft limit, as it would under systemd.
Only the Python standard library: it runs under the VM's read-only view of the host.
"""

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

KEEPALIVED = "/usr/sbin/keepalived"
RS_NET = "198.51.100."  # real servers: 198.51.100.1..R on lo, one port per virtual server
VS_NET = "192.0.2."  # virtual servers: 192.0.2.(1 + i // 10), port 8000 + i % 10
RS_PORT0 = 10000
METRICS = "127.0.0.1:9461"
CLONE_NEWNET = 0x40000000


def vs_of(i):
    return f"{VS_NET}{1 + i // 10}", 8000 + i % 10


def rs_of(i, j):
    return f"{RS_NET}{1 + j}", RS_PORT0 + i


def config(n_vs, n_rs, changed=None, weight=2):
    """The keepalived.conf both daemons read; `changed` = (vs, rs) gets `weight`."""
    out = ["global_defs {\n router_id lvsbench\n}\n"]
    for i in range(n_vs):
        a, p = vs_of(i)
        out.append(f"virtual_server {a} {p} {{\n delay_loop 60\n lb_algo wrr\n lb_kind NAT\n"
                   " protocol TCP\n")
        for j in range(n_rs):
            ra, rp = rs_of(i, j)
            w = weight if changed == (i, j) else 1
            out.append(f" real_server {ra} {rp} {{\n  weight {w}\n"
                       "  TCP_CHECK {\n   connect_timeout 5\n  }\n }\n")
        out.append("}\n")
    return "".join(out)


# --- processes -----------------------------------------------------------------------------

def proc_tree(pid):
    """pid and its descendants (keepalived forks its checker process)."""
    parents = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    st = f.read()
                parents[int(d)] = int(st[st.rindex(")") + 2:].split()[1])
            except (OSError, ValueError):
                pass
    tree, grew = {pid}, True
    while grew:
        grew = False
        for p, pp in parents.items():
            if pp in tree and p not in tree:
                tree.add(p)
                grew = True
    return sorted(tree)


def cpu_seconds(pids):
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                st = f.read()
            fields = st[st.rindex(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, ValueError):
            pass
    return total / tick


def status_kb(pids, key):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


# --- the kernel's table --------------------------------------------------------------------

def table_counts():
    """(services, destinations) in /proc/net/ip_vs (the header has one '  -> ' line)."""
    with open("/proc/net/ip_vs", "rb") as f:
        data = f.read()
    return data.count(b"\nTCP  "), data.count(b"\n  -> ") - 1


class Ipvs:
    """The IPVS generic-netlink family, just enough to dump one service's destinations."""

    def __init__(self):
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 16)  # NETLINK_GENERIC
        self.s.bind((0, 0))
        self.seq = 0
        name = b"IPVS\0"
        msgs = self._request(0x10, 0x1, 3, 1, self._attr(2, name))  # CTRL_CMD_GETFAMILY
        attrs = self._attrs(msgs[0])
        self.family = struct.unpack("=H", attrs[1][:2])[0]

    @staticmethod
    def _attr(t, payload):
        a = struct.pack("=HH", 4 + len(payload), t) + payload
        return a + b"\0" * (-len(a) % 4)

    @staticmethod
    def _attrs(buf):
        out, off = {}, 0
        while off + 4 <= len(buf):
            ln, t = struct.unpack_from("=HH", buf, off)
            if ln < 4:
                break
            out[t & 0x3FFF] = buf[off + 4:off + ln]
            off += (ln + 3) & ~3
        return out

    def _request(self, mtype, flags, cmd, version, attrs):
        self.seq += 1
        body = struct.pack("=BBH", cmd, version, 0) + attrs
        self.s.send(struct.pack("=IHHII", 16 + len(body), mtype, flags, self.seq, 0) + body)
        out = []
        while True:
            data = self.s.recv(1 << 20)
            off = 0
            while off < len(data):
                ln, t, _f, seq, _pid = struct.unpack_from("=IHHII", data, off)
                if t == 2:  # NLMSG_ERROR
                    err = struct.unpack_from("=i", data, off + 16)[0]
                    if err:
                        raise OSError(-err, os.strerror(-err))
                    return out
                if t == 3:  # NLMSG_DONE
                    return out
                out.append(data[off + 20:off + ln])  # past nlmsghdr + genlmsghdr
                off += (ln + 3) & ~3
            if not flags & 0x300:  # not a dump: one message
                return out

    def dests(self, addr, port):
        """[(address, port, weight)] of TCP service addr:port."""
        svc = (self._attr(1, struct.pack("=H", socket.AF_INET))
               + self._attr(2, struct.pack("=H", socket.IPPROTO_TCP))
               + self._attr(3, socket.inet_aton(addr) + b"\0" * 12)
               + self._attr(4, struct.pack("!H", port)))
        msgs = self._request(self.family, 0x301, 8, 1, self._attr(0x8001, svc))  # GET_DEST dump
        out = []
        for m in msgs:
            d = self._attrs(self._attrs(m)[2])
            out.append((socket.inet_ntoa(d[1][:4]), struct.unpack("!H", d[2])[0],
                        struct.unpack("=I", d[4])[0]))
        return sorted(out)


# --- network namespace and listeners -------------------------------------------------------

def sh(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


def enter_netns(name):
    """Moves this (single-threaded) process into a fresh namespace `name`; children follow."""
    import ctypes
    subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)
    sh("ip", "netns", "add", name)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")
    os.close(fd)


def leave_netns(name, root_fd):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(root_fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")
    subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)


def listeners(n_vs, n_rs):
    sh("ip", "link", "set", "lo", "up")
    for j in range(n_rs):
        sh("ip", "addr", "add", f"{RS_NET}{1 + j}/32", "dev", "lo")
    socks = []
    for i in range(n_vs):
        for j in range(n_rs):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(rs_of(i, j))
            s.listen(64)
            socks.append(s)
    return socks


# --- one daemon ----------------------------------------------------------------------------

def scrape_metrics():
    """{series: value} of lbd's /metrics, or {} when it does not answer."""
    host, port = METRICS.split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=120) as c:
            c.sendall(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
            data = b""
            while chunk := c.recv(65536):
                data += chunk
    except OSError:
        return {}
    out = {}
    for line in data.decode(errors="replace").split("\r\n\r\n", 1)[-1].splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.rpartition(" ")
            try:
                out[k] = float(v)
            except ValueError:
                pass
    return out


def ipvs_apply(m):
    """(seconds, requests) summed over lbd's IPVS apply series."""
    secs = sum(v for k, v in m.items() if k.startswith("lbd_ipvs_apply_duration_seconds_sum"))
    reqs = sum(v for k, v in m.items() if k.startswith("lbd_ipvs_requests_total"))
    return secs, reqs


def log_time(path, needle, after=None):
    """Unix time of the first line of lbd's log (RFC 3339 timestamps) containing `needle`
    (at or after `after`), or None."""
    from datetime import datetime
    with open(path, errors="replace") as f:
        for line in f:
            if needle in line:
                try:
                    t = datetime.fromisoformat(line.split()[0].replace("Z", "+00:00"))
                except (ValueError, IndexError):
                    continue
                if after is None or t.timestamp() >= after:
                    return t.timestamp()
    return None


def log_gap(path, first, then):
    """Seconds from lbd's log line containing `first` to the next containing `then`."""
    t0 = log_time(path, first)
    t1 = None if t0 is None else log_time(path, then, after=t0)
    return None if t1 is None else t1 - t0


def limits():
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 524288))


def measure(tool, a, work):
    n_vs, n_rs = a.vs, a.rs_per_vs
    want = (n_vs, n_vs * n_rs)
    res = {"tool": tool, "services": n_vs, "real_servers": n_vs * n_rs}
    ns = f"dmlb{tool[:3]}"
    root_fd = os.open("/proc/self/ns/net", os.O_RDONLY)
    enter_netns(ns)
    t = time.monotonic()
    socks = listeners(n_vs, n_rs)
    res["listeners_s"] = round(time.monotonic() - t, 2)
    conf = os.path.join(work, f"{tool}.conf")
    with open(conf, "w") as f:
        f.write(config(n_vs, n_rs))
    log = open(os.path.join(work, f"{tool}.log"), "w")
    if tool == "lbd":
        cmd = [a.lbd, "-n", "-l", "-C", "-f", conf, "-p", os.path.join(work, "lbd.pid"),
               "--status-socket", os.path.join(work, "lbd.sock"), "--metrics", METRICS]
    else:
        cmd = [KEEPALIVED, "-n", "-l", "-C", "-f", conf, "-p", os.path.join(work, "ka.pid"),
               "-c", os.path.join(work, "ka.checkers.pid"), "-r", os.path.join(work, "ka.vrrp.pid")]
    res["command"] = " ".join(cmd)
    print(f"[{tool}] {n_vs} x {n_rs}: listeners up in {res['listeners_s']} s; starting",
          file=sys.stderr, flush=True)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                         preexec_fn=limits)
    try:
        # 1. cold start
        polls, got, poll_cost = 0, (0, 0), 0.0
        while True:
            tp = time.monotonic()
            got = table_counts()
            poll_cost += time.monotonic() - tp
            polls += 1
            if got == want:
                break
            if p.poll() is not None:
                raise RuntimeError(f"{tool} exited ({p.returncode}) with the table at {got}")
            if tp - t0 > a.start_timeout:
                raise RuntimeError(f"{tool}: table at {got} of {want} after {a.start_timeout} s")
            time.sleep(0.05)
        res["cold_s"] = round(tp - t0, 3)  # the poll that saw it full started then
        res["cold_cpu_s"] = round(cpu_seconds(proc_tree(p.pid)), 2)
        res["polls"] = polls
        res["poll_ms"] = round(poll_cost / polls * 1000, 1)
        print(f"[{tool}] full table {want} after {res['cold_s']} s "
              f"(CPU {res['cold_cpu_s']} s; {polls} polls of {res['poll_ms']} ms)",
              file=sys.stderr, flush=True)
        # lbd's IPVS counters before the reload, scraped before the settling time. /metrics has
        # series per checker: at 40,000 checkers one scrape held lbd's loop ~33 s under TCG,
        # and the checks that came due meanwhile took it another ~15 s to catch up (and
        # failed some: timed out), which would land in the reload figure. So only up to
        # --metrics-max real servers.
        scrape = tool == "lbd" and n_vs * n_rs <= a.metrics_max
        m0 = {}
        if scrape:
            ts = time.monotonic()
            m0 = scrape_metrics()
            res["metrics_scrape_s"] = round(time.monotonic() - ts, 2)
        # 2. memory once settled
        time.sleep(max(0.0, tp + 10 - time.monotonic()))
        pids = proc_tree(p.pid)
        res["processes"] = len(pids)
        res["rss_kb"] = status_kb(pids, "VmRSS")
        # 3. reload with one weight changed (a service in the middle of the file)
        i, j = n_vs // 2, 0
        va, vp = vs_of(i)
        ra, rp = rs_of(i, j)
        nl = Ipvs()
        before = nl.dests(va, vp)
        assert (ra, rp, 1) in before, before
        # Twice: 1 -> 2, then 2 -> 3. Under TCG the first run of any code is translated
        # first (milliseconds for a path never taken before); the second reload shows the
        # daemon's own cost. On a real CPU the two are alike.
        for k, w in enumerate((2, 3)):
            key = "reload_ms" if k == 0 else "reload2_ms"
            with open(conf, "w") as f:
                f.write(config(n_vs, n_rs, changed=(i, j), weight=w))
            if k == 1:
                time.sleep(1)
            r = subprocess.run([a.await_weight, str(p.pid), f"{va}:{vp}", f"{ra}:{rp}", str(w),
                                str(a.reload_timeout)], capture_output=True, text=True,
                               timeout=a.reload_timeout + 60)
            if r.returncode != 0:
                raise RuntimeError(f"await_weight: {r.stderr.strip()}")
            got = json.loads(r.stdout)
            res["reload_polls" if k == 0 else "reload2_polls"] = got["polls"]
            if got.get("timed_out"):
                # Reported as "more than", and memory is still measured.
                res["reload_timed_out_s"] = a.reload_timeout
                print(f"[{tool}] no new weight in the kernel {a.reload_timeout} s after SIGHUP",
                      file=sys.stderr, flush=True)
                break
            res["reload_poll_ms"] = got["poll_ms"]
            if k == 0:
                t1_wall = got["sent"]
            res[key] = round(got["ms"], 2)
            print(f"[{tool}] weight {w} in the kernel {res[key]} ms after SIGHUP",
                  file=sys.stderr, flush=True)
        time.sleep(2)
        res["after_reload"] = list(table_counts())
        res["table_full_after_reload"] = tuple(res["after_reload"]) == want
        others = [d for d in nl.dests(va, vp) if d[:2] != (ra, rp)]
        res["others_unchanged"] = others == [d for d in before if d[:2] != (ra, rp)]
        if scrape:
            m1 = scrape_metrics()
            if m0 and m1:
                s0, r0 = ipvs_apply(m0)
                s1, r1 = ipvs_apply(m1)
                res["lbd_apply_ms"] = round((s1 - s0) * 1000, 3)
                res["lbd_apply_requests"] = int(r1 - r0)
                res["lbd_reloads"] = int(m1.get("lbd_config_reloads_total", -1))
            else:
                res["metrics"] = "no answer within 120 s"
        if tool == "lbd":
            # Where lbd's time goes, from its own log: loading the file at start, and the
            # reload from its first line to "Reload finished".
            g = log_gap(log.name, "Starting lbd", "Configuration file")
            res["lbd_start_load_s"] = None if g is None else round(g, 3)
            g = log_gap(log.name, "Reloading configuration", "Reload finished")
            res["lbd_reload_log_s"] = None if g is None else round(g, 3)
            g = log_time(log.name, "Reloading configuration")
            res["lbd_sighup_to_reload_log_s"] = None if g is None else round(g - t1_wall, 3)
        # Every real server listens: a server taken out is a check that failed wrongly (a
        # daemon too busy to see its connection complete within connect_timeout).
        with open(log.name, errors="replace") as f:
            res["removed"] = sum("Removing service" in line for line in f)
        pids = proc_tree(p.pid)
        res["hwm_kb"] = status_kb(pids, "VmHWM")
        res["cpu_total_s"] = round(cpu_seconds(pids), 2)
        # 4. stop
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            res["stop"] = "killed after 120 s"
    finally:
        if p.poll() is None:
            for q in proc_tree(p.pid):
                try:
                    os.kill(q, signal.SIGKILL)
                except OSError:
                    pass
            p.wait()
        log.close()
        for s in socks:
            s.close()
        keep = os.path.join(a.out, "work")
        os.makedirs(keep, exist_ok=True)
        for f in (conf, log.name):
            shutil.copy(f, keep)
        leave_netns(ns, root_fd)
        os.close(root_fd)
    return res


def version(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        return (r.stdout + r.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def run(a):
    out = a.out
    os.makedirs(out, exist_ok=True)
    # Configs, logs and sockets on the guest's tmpfs: the output share is 9p (no unix sockets,
    # and a write costs a round trip to the host under TCG, which thousands of log lines feel).
    work = "/tmp/dmlb-lvs"
    os.makedirs(work, exist_ok=True)
    need = a.vs * a.rs_per_vs + 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(need, soft), max(need, hard)))
    result = {
        "vs": a.vs, "rs_per_vs": a.rs_per_vs, "quick": a.quick,
        "kernel": os.uname().release, "cpus": os.cpu_count(),
        "mem_kb": int(open("/proc/meminfo").read().split()[1]),
        "lbd_version": version([a.lbd, "--version"]),
        "keepalived_version": version([KEEPALIVED, "--version"]),
        "runs": [], "errors": [],
    }
    for tool in a.only.split(","):
        try:
            result["runs"].append(measure(tool, a, work))
        except Exception as e:  # noqa: BLE001 - reported, and the other daemon still runs
            print(f"[{tool}] FAILED: {e}", file=sys.stderr, flush=True)
            result["errors"].append(f"{tool}: {e}")
        with open(os.path.join(out, "lvs.json"), "w") as f:
            json.dump(result, f, indent=1)
    return 0 if not result["errors"] else 1


# --- the report (on the host) --------------------------------------------------------------

def report(a):
    with open(a.json) as f:
        r = json.load(f)
    runs = {x["tool"]: x for x in r["runs"]}
    lbd, ka = runs.get("lbd"), runs.get("keepalived")

    def g(x, k, fmt="{}"):
        return fmt.format(x[k]) if x and k in x else "—"

    def ratio(k):
        if not (lbd and ka and lbd.get(k) and ka.get(k)):
            return "—"
        return f"{lbd[k] / ka[k]:.2f}"

    n = r["vs"] * r["rs_per_vs"]
    L = [
        "# Virtual servers at scale: lbd vs keepalived (issue 6)",
        "",
        f"- date: {a.date} (run took {a.secs} s)",
        f"- command: `{a.cmdline}`",
        f"- lbd: `{a.lbd}` ({r['lbd_version']}{a.lbd_build}); keepalived: {r['keepalived_version']}",
        f"- where: test-bed VM (`testbed/vm-run`, QEMU TCG, {r['cpus']} vCPUs, kernel {r['kernel']}), "
        f"host {a.host}",
        f"- table: {r['vs']:,} virtual servers x {r['rs_per_vs']} real servers = {n:,} real "
        "servers (NAT, wrr, `delay_loop 60`), one `TCP_CHECK` each against a listening socket "
        "in the daemon's namespace; each daemon alone in a fresh network namespace, "
        "`-n -l -C`, RLIMIT_NOFILE 1024 soft / 524288 hard",
        "",
        "| measurement | lbd | keepalived | ratio | goal |",
        "|---|---|---|---|---|",
    ]
    def reload_time(x):
        if x and "reload_timed_out_s" in x:
            return f"> {x['reload_timed_out_s']:.0f} s (gave up)"
        return g(x, "reload_ms", "{:.1f} ms")

    def speed(k):
        """How many times faster (or slower) lbd was than keepalived."""
        if not (lbd and ka and lbd.get(k) and ka.get(k)):
            return "—"
        x = ka[k] / lbd[k]
        return f"lbd {x:.2f}x faster" if x >= 1 else f"lbd {1 / x:.2f}x slower"

    met = "—"
    if lbd and ka and lbd.get("cold_s") and ka.get("cold_s"):
        met = "**met**" if ka["cold_s"] / lbd["cold_s"] >= 3 else "**not met**"
    L.append(f"| cold start: spawn to full table in the kernel | {g(lbd, 'cold_s', '{:.2f} s')} | "
             f"{g(ka, 'cold_s', '{:.2f} s')} | {speed('cold_s')} | lbd >= 3x faster: {met} |")
    L.append(f"| CPU time to the full table (all processes) | {g(lbd, 'cold_cpu_s', '{:.2f} s')} | "
             f"{g(ka, 'cold_cpu_s', '{:.2f} s')} | {ratio('cold_cpu_s')} | — |")
    rmet = "—"
    if lbd and "reload_ms" in lbd:
        warm = lbd.get("reload2_ms")
        rmet = "—" if warm is None else ("**met**" if warm < 10 else "**not met**")
    L.append(f"| reload, one weight changed: SIGHUP to the new weight in the kernel (first reload: "
             f"TCG translates the reload's code on its first run) | "
             f"{reload_time(lbd)} | {reload_time(ka)} | {speed('reload_ms')} | — |")
    L.append(f"| the same, second reload (weight 2 -> 3, 1 s later) | "
             f"{g(lbd, 'reload2_ms', '{:.1f} ms')} | {g(ka, 'reload2_ms', '{:.1f} ms')} | "
             f"{speed('reload2_ms')} | lbd < 10 ms: {rmet} |")
    if lbd and lbd.get("lbd_start_load_s") is not None:
        L.append(f"| lbd's log: start to \"Configuration file\" (reading the file) | "
                 f"{lbd['lbd_start_load_s']:.2f} s | — | — | — |")
        L.append(f"| lbd's log: SIGHUP to \"Reloading configuration\" (the loop taking the "
                 f"signal) / from there to \"Reload finished\" (the file read; the virtual "
                 f"servers' diff comes after) | "
                 f"{lbd.get('lbd_sighup_to_reload_log_s')} s / "
                 f"{lbd.get('lbd_reload_log_s')} s | — | — | — |")
    if lbd and "lbd_apply_ms" in lbd:
        L.append(f"| lbd's own IPVS apply for the two reloads (`/metrics`) | {lbd['lbd_apply_ms']:.3f} ms, "
                 f"{lbd['lbd_apply_requests']} request(s) | — | — | 1 request each |")
    L.append(f"| table intact after the reload, other weights unchanged | "
             f"{g(lbd, 'table_full_after_reload')} / {g(lbd, 'others_unchanged')} | "
             f"{g(ka, 'table_full_after_reload')} / {g(ka, 'others_unchanged')} | — | yes |")
    L.append(f"| real servers taken out by a failed check until the stop (all listen) | "
             f"{g(lbd, 'removed')} | {g(ka, 'removed')} | — | 0 |")
    mb = "{:.1f} MB"
    for k, what in (("rss_kb", "VmRSS 10 s after the full table"), ("hwm_kb", "VmHWM after the reload")):
        lv = mb.format(lbd[k] / 1024) if lbd and k in lbd else "—"
        kv = mb.format(ka[k] / 1024) if ka and k in ka else "—"
        L.append(f"| {what} (sum over processes) | {lv} ({g(lbd, 'processes')} proc.) | "
                 f"{kv} ({g(ka, 'processes')} proc.) | {ratio(k)} | reported |")
    L += ["", "Ratios: CPU and memory are lbd / keepalived.", ""]
    L.append("Raw, per daemon:")
    L.append("")
    for x in r["runs"]:
        L.append(f"- {x['tool']}: " + ", ".join(f"{k} {v}" for k, v in x.items() if k != "tool"))
    for e in r["errors"]:
        L.append(f"- FAILED: {e}")
    L.append("")
    text = "\n".join(L)
    with open(a.md, "w") as f:
        f.write(text)
    print(text)
    return 0 if lbd and ka and not r["errors"] else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--lbd", required=True)
    r.add_argument("--await-weight", required=True,
                   help="ipvs-sys's await_weight example: sends SIGHUP, times the new weight")
    r.add_argument("--out", required=True)
    r.add_argument("--vs", type=int, default=2500)
    r.add_argument("--rs-per-vs", type=int, default=16)
    r.add_argument("--only", default="lbd,keepalived")
    r.add_argument("--quick", action="store_true")
    r.add_argument("--start-timeout", type=float, default=900)
    r.add_argument("--reload-timeout", type=float, default=300)
    r.add_argument("--metrics-max", type=int, default=10000)
    p = sub.add_parser("report")
    for opt in ("--json", "--md", "--date", "--secs", "--cmdline", "--lbd", "--lbd-build",
                "--host"):
        p.add_argument(opt, required=opt in ("--json", "--md"), default="")
    a = ap.parse_args()
    if a.cmd == "run":
        if not 1 <= a.rs_per_vs <= 254 or not 1 <= a.vs <= 2500:
            ap.error("--vs 1..2500 and --rs-per-vs 1..254 (addresses and ports of the layout)")
        return run(a)
    return report(a)


if __name__ == "__main__":
    sys.exit(main())
