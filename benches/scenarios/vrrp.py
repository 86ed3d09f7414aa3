#!/usr/bin/env python3
"""lbd vs keepalived, side by side, in network namespaces: the measured scenarios of the
"lbd part 1" issue.

1. kill -9 failover at advert_int 0.1 (VRRPv3): kill -> VIP on the backup.
2. SIGTERM handover (priority-0 advert): SIGTERM -> VIP on the backup.
3. CPU time (utime+stime) of 1,000 master instances at advert_int 1.
4. RSS with the seed configs (benches/scenarios/configs/*.conf).

Timing is taken where it happens, not by polling: a netlink listener (RTMGRP_*_IFADDR) opened
inside the backup's namespace stamps the moment the kernel reports the VIP, and a packet socket
on the backup's interface with kernel timestamps (SO_TIMESTAMPNS) records the adverts and
gratuitous ARPs on the wire, so every failover can be broken down into "the peer's timer" and
"the daemon's own processing". All clocks are CLOCK_REALTIME in nanoseconds.

Only the standard library; run as root through vrrp.sh (which builds lbd and guards cleanup).
"""

import argparse
import contextlib
import ctypes
import datetime
import math
import os
import random
import re
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
KEEPALIVED = "/usr/sbin/keepalived"

CLONE_NEWNET = 0x40000000
SO_TIMESTAMPNS = 35  # x86/arm: SO_TIMESTAMPNS_OLD
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV6_IFADDR = 0x100
RTM_NEWADDR, RTM_DELADDR = 20, 21
IFA_ADDRESS, IFA_LOCAL = 1, 2

A_IP, B_IP, VIP = "192.0.2.1", "192.0.2.2", "192.0.2.100"
FO_IF = "b5v0"
FO_ADVERT_CS = 10  # advert_int 0.1 s in centiseconds
BACKUP_PRIO, MASTER_PRIO = 100, 150

_libc = ctypes.CDLL(None, use_errno=True)
_HOST_NS = os.open("/proc/self/ns/net", os.O_RDONLY)


class ScenarioError(Exception):
    """A scenario could not be measured (daemon did not converge, crashed, timed out)."""


class Deadline(Exception):
    """The global time budget ran out."""


# ---------------------------------------------------------------------------------------------
# Namespaces, links, processes


def sh(*args, check=True, capture=False):
    r = subprocess.run(args, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise ScenarioError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r.stdout if capture else r


class Lab:
    """Every namespace this run creates (all named b5<role><run id>) and every daemon it starts;
    `close` removes them all, also after an exception."""

    def __init__(self, run_id, work):
        self.lbd = ""
        self.lbd_status_socket = False
        self.run_id = run_id
        self.work = work
        self.namespaces = []
        self.daemons = []

    def netns(self, role):
        name = f"b5{role}{self.run_id}"
        sh("ip", "netns", "del", name, check=False)
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        sh("ip", "-n", name, "link", "set", "lo", "up")
        return name

    def drop_netns(self, name):
        for d in self.daemons:
            if d.ns == name:
                d.kill()
        sh("ip", "netns", "del", name, check=False)
        if name in self.namespaces:
            self.namespaces.remove(name)

    def close(self):
        for d in self.daemons:
            d.kill()
        for name in list(self.namespaces):
            sh("ip", "netns", "del", name, check=False)
        self.namespaces.clear()


@contextlib.contextmanager
def in_netns(name):
    """Runs the block with this thread in namespace `name`; sockets opened there stay there."""
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {name}")
        try:
            yield
        finally:
            if _libc.setns(_HOST_NS, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back to the host namespace")
    finally:
        os.close(fd)


def addrs(ns, dev=None):
    """Addresses (without prefix) in `ns`, optionally on `dev` only."""
    args = ["ip", "-n", ns, "-o", "addr", "show"] + (["dev", dev] if dev else [])
    out = sh(*args, check=False, capture=True)
    res = []
    for line in out.splitlines():
        w = line.split()
        for i, tok in enumerate(w):
            if tok in ("inet", "inet6") and i + 1 < len(w):
                res.append(w[i + 1].split("/")[0])
    return res


def proc_stat(pid):
    """(session, utime+stime ticks) of one process, None if it is gone."""
    try:
        s = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = s[s.rfind(")") + 2:].split()
    return int(rest[3]), int(rest[11]) + int(rest[12])


def session_pids(sid):
    """Every process of the session `sid` (a daemon and the children it forked)."""
    pids = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            st = proc_stat(int(p))
            if st and st[0] == sid:
                pids.append(int(p))
    return sorted(pids)


def status_kb(pid, field):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid):
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Daemon:
    """lbd or keepalived in a namespace, in its own session so that kill -9 reaches all of
    keepalived's processes in one kill(2) (and none of them can respawn another)."""

    def __init__(self, lab, tool, ns, name, conf_text, vrrp_only=True, rt=False):
        self.lab, self.tool, self.ns, self.name = lab, tool, ns, name
        self.vrrp_only, self.rt = vrrp_only, rt
        self.conf = lab.work / f"{name}.conf"
        self.conf.write_text(conf_text)
        self.log = lab.work / f"{name}.log"
        self.proc = None
        lab.daemons.append(self)
        self.start()

    def argv(self):
        w = self.lab.work
        if self.tool == "lbd":
            a = [self.lab.lbd, "-n", "-l", "-f", str(self.conf), "-p", str(w / f"{self.name}.pid")]
            if self.lab.lbd_status_socket:
                # Its own control socket: the default path under /run is shared by every
                # namespace, so concurrent daemons (ours or anyone's) would collide there.
                a += ["--status-socket", str(w / f"{self.name}.sock")]
            return a + (["-P"] if self.vrrp_only else [])
        a = [KEEPALIVED, "-n", "-l", "-f", str(self.conf), "-p", str(w / f"{self.name}.pid"),
             "-r", str(w / f"{self.name}.vrrp.pid"), "-c", str(w / f"{self.name}.check.pid")]
        return a + (["--vrrp"] if self.vrrp_only else [])

    def start(self):
        prefix = ["chrt", "-f", "10"] if self.rt else []
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                prefix + ["ip", "netns", "exec", self.ns] + self.argv(),
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
        self.started = time.monotonic()

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def killpg(self, sig):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired as e:
            raise ScenarioError(f"{self.name} did not exit within {timeout}s") from e

    def kill(self):
        if self.proc is None:
            return
        self.killpg(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)

    def pids(self):
        return session_pids(self.proc.pid) if self.alive() else []

    def remove_pid_files(self):
        for suffix in (".pid", ".vrrp.pid", ".check.pid"):
            with contextlib.suppress(FileNotFoundError):
                (self.lab.work / f"{self.name}{suffix}").unlink()

    def log_tail(self, n=15):
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def wait_until(what, timeout, cond, step=0.02):
    end = time.monotonic() + timeout
    while True:
        if cond():
            return
        if time.monotonic() > end:
            raise ScenarioError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


def veth(ns, dev, sink_ns, peer, addr=None):
    """`dev` in `ns`, its peer in `sink_ns` (up, nothing listening), so the segment has carrier."""
    sh("ip", "-n", sink_ns, "link", "add", peer, "type", "veth", "peer", "name", dev, "netns", ns)
    sh("ip", "-n", sink_ns, "link", "set", peer, "up")
    if addr:
        sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
    sh("ip", "-n", ns, "link", "set", dev, "up")


# ---------------------------------------------------------------------------------------------
# The observer in the backup's namespace


def parse_addr_events(data):
    """(type, ifindex, address) of each RTM_NEWADDR/RTM_DELADDR in a netlink datagram."""
    off = 0
    while off + 16 <= len(data):
        ln, typ = struct.unpack_from("=IH", data, off)
        if ln < 16:
            break
        if typ in (RTM_NEWADDR, RTM_DELADDR) and off + 24 <= len(data):
            fam, _plen, _fl, _scope, idx = struct.unpack_from("=BBBBI", data, off + 16)
            a, found = off + 24, {}
            while a + 4 <= off + ln:
                alen, atyp = struct.unpack_from("=HH", data, a)
                if alen < 4:
                    break
                if atyp in (IFA_ADDRESS, IFA_LOCAL):
                    raw = data[a + 4:a + alen]
                    with contextlib.suppress(ValueError, OSError):
                        found[atyp] = socket.inet_ntop(fam, raw)
                a += (alen + 3) & ~3
            addr = found.get(IFA_LOCAL, found.get(IFA_ADDRESS))
            yield typ, idx, addr
        off += (ln + 3) & ~3


class Observer:
    """Netlink address events and the wire (VRRP, ARP) as seen from the backup's interface."""

    def __init__(self, ns, dev):
        with in_netns(ns):
            self.nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)  # NETLINK_ROUTE
            self.nl.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            self.nl.bind((0, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR))
            self.pk = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            self.pk.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            self.pk.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            self.pk.bind((dev, ETH_P_ALL))
        for s in (self.nl, self.pk):
            s.setblocking(False)

    def close(self):
        self.nl.close()
        self.pk.close()

    def _read_packets(self, events):
        while True:
            try:
                data, anc, _fl, addr = self.pk.recvmsg(2048, socket.CMSG_SPACE(16))
            except BlockingIOError:
                return
            ts = time.time_ns()
            for lvl, typ, cdata in anc:
                if lvl == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS and len(cdata) >= 16:
                    sec, nsec = struct.unpack_from("=qq", cdata)
                    ts = sec * 1_000_000_000 + nsec
            out = addr[2] == PACKET_OUTGOING
            if len(data) < 14:
                continue
            etype = struct.unpack_from("!H", data, 12)[0]
            if etype == 0x0800 and len(data) >= 34 and data[23] == 112:
                ihl = (data[14] & 0x0F) * 4
                src = socket.inet_ntoa(data[26:30])
                v = 14 + ihl
                if len(data) >= v + 4:
                    events.append((ts, "advert", src, data[v + 2], out))
            elif etype == 0x0806 and len(data) >= 42:
                sender = socket.inet_ntoa(data[28:32])
                target = socket.inet_ntoa(data[38:42])
                if sender == target:
                    events.append((ts, "garp", sender, 0, out))

    def _read_netlink(self, events):
        while True:
            try:
                data = self.nl.recv(65536)
            except BlockingIOError:
                return
            ts = time.time_ns()
            for typ, _idx, addr in parse_addr_events(data):
                events.append((ts, "new" if typ == RTM_NEWADDR else "del", addr, 0, False))

    def run(self, seconds, events, stop=None):
        """Collects events for `seconds`, or until `stop(events)` says so."""
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.nl, self.pk], [], [], min(left, 0.05))
            if self.pk in r:
                self._read_packets(events)
            if self.nl in r:
                self._read_netlink(events)
            if stop and stop(events):
                return True

    def drain(self):
        self.run(0.0, [])
        with contextlib.suppress(BlockingIOError):
            while self.pk.recv(2048):
                pass
        with contextlib.suppress(BlockingIOError):
            while self.nl.recv(65536):
                pass


# ---------------------------------------------------------------------------------------------
# Scenarios 1 and 2: failover


def skew_ms(prio, advert_cs):
    """RFC 5798 Skew_Time in ms: ((256 - priority) * Master_Adver_Interval / 256) centiseconds."""
    return (256 - prio) * advert_cs / 256 * 10


def fo_config(prio, master):
    return f"""global_defs {{
    router_id b5bench
    vrrp_garp_master_delay 1
    vrrp_garp_master_repeat 1
}}
vrrp_instance VI_1 {{
    state {"MASTER" if master else "BACKUP"}
    interface {FO_IF}
    virtual_router_id 51
    priority {prio}
    advert_int 0.1
    version 3
    virtual_ipaddress {{
        {VIP}
    }}
}}
"""


def pctl(xs, p):
    s = sorted(xs)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def failover(lab, args, tool, mode, deadline):
    """`mode` is "kill" (SIGKILL to every process of the master) or "term" (SIGTERM to the
    master's main process). Returns a dict of per-trial figures."""
    rid = lab.run_id
    a_ns, b_ns = lab.netns(f"{mode[0]}{tool[0]}a"), lab.netns(f"{mode[0]}{tool[0]}b")
    sh("ip", "-n", a_ns, "link", "add", FO_IF, "type", "veth", "peer", "name", FO_IF, "netns", b_ns)
    for ns, ip_ in ((a_ns, A_IP), (b_ns, B_IP)):
        sh("ip", "-n", ns, "addr", "add", f"{ip_}/24", "dev", FO_IF)
        sh("ip", "-n", ns, "link", "set", FO_IF, "up")
    name = f"{mode}-{tool}-{rid}"
    obs = Observer(b_ns, FO_IF)
    b = Daemon(lab, tool, b_ns, f"{name}-b", fo_config(BACKUP_PRIO, False), rt=args.rt)
    a = Daemon(lab, tool, a_ns, f"{name}-a", fo_config(MASTER_PRIO, True), rt=args.rt)
    trials, failures = [], []
    phases = random.Random(args.seed)

    def only_on_a():
        return VIP in addrs(a_ns, FO_IF) and VIP not in addrs(b_ns, FO_IF)

    try:
        wait_until(f"{tool}: the priority-{MASTER_PRIO} node holds the VIP alone", 20, only_on_a)
        for i in range(args.reps):
            if time.monotonic() > deadline:
                failures.append(f"stopped after {i} trials: time budget")
                break
            # Steady state first.
            obs.drain()
            pre = []
            obs.run(0.4, pre)
            # The signal goes at a phase of the advert interval drawn from the same seeded
            # sequence for both tools, counted from the master's advert's kernel timestamp so
            # that trial i is the same case for both. On a loaded machine the packet can reach
            # us late (softirq); then the next advert is used, up to 2 s.
            phase_ns = int(phases.uniform(0.002, 0.095) * 1e9)
            give_up = time.monotonic() + 2.0
            ref = None
            while ref is None and time.monotonic() < give_up:
                mark = len(pre)

                def master_adverts(ev, mark=mark):
                    return [e[0] for e in ev[mark:]
                            if e[1] == "advert" and e[2] == A_IP and e[3] > 0]

                if obs.run(1.0, pre, stop=master_adverts):
                    ts = master_adverts(pre)[-1]
                    if time.time_ns() < ts + phase_ns - 1_000_000:
                        ref = ts
            if ref is None:
                raise ScenarioError(f"{tool}: no timely advert from the master before trial {i}")
            time.sleep(max(0, ref + phase_ns - time.time_ns()) / 1e9)
            post = []
            t_sig = time.time_ns()
            if mode == "kill":
                a.killpg(signal.SIGKILL)
            else:
                a.signal(signal.SIGTERM)
            got = obs.run(5.0, post, stop=lambda ev: any(
                e[1] == "new" and e[2] == VIP for e in ev))
            if not got:
                raise ScenarioError(f"{tool}: VIP not on the backup 5 s after {mode}\n{b.log_tail()}")
            obs.run(0.12, post)  # the adverts / GARPs that follow
            trials.append(analyse(pre, post, t_sig))
            trials[-1]["phase"] = phase_ns / 1e6
            trials[-1]["late"] = (t_sig - ref - phase_ns) / 1e6
            a.wait(10)
            # kill -9 leaves pid files behind, and keepalived refuses to start while one names
            # a process that still exists (its VRRP child may linger as a zombie for a moment).
            if mode == "kill":
                wait_until(f"{tool}: killed processes gone", 5, lambda: not session_pids(a.pid))
                a.remove_pid_files()
            # A killed daemon leaves its VIP behind: take it away before the next trial.
            if VIP in addrs(a_ns, FO_IF):
                sh("ip", "-n", a_ns, "addr", "del", f"{VIP}/32", "dev", FO_IF, check=False)
            a.start()
            wait_until(f"{tool}: restarted master takes the VIP back", 20, only_on_a)
    except ScenarioError as e:
        failures.append(str(e))
    finally:
        obs.close()
        a.kill()
        b.kill()
        lab.drop_netns(a_ns)
        lab.drop_netns(b_ns)
    return {"trials": trials, "failures": failures}


def analyse(pre, post, t_sig):
    ms = lambda t: (t - t_sig) / 1e6  # noqa: E731
    last_a = max((e[0] for e in pre + post if e[1] == "advert" and e[2] == A_IP and e[3] > 0
                  and e[0] <= t_sig), default=None)
    t_vip = min(e[0] for e in post if e[1] == "new" and e[2] == VIP)
    first = lambda pred: min((e[0] for e in post if pred(e)), default=None)  # noqa: E731
    prio0 = first(lambda e: e[1] == "advert" and e[2] == A_IP and e[3] == 0)
    adv_b = first(lambda e: e[1] == "advert" and e[2] == B_IP and e[4])
    garp_b = first(lambda e: e[1] == "garp" and e[2] == VIP and e[4])
    return {
        "total": ms(t_vip),
        "last_a": None if last_a is None else ms(last_a),
        "prio0": None if prio0 is None else ms(prio0),
        "advert_b": None if adv_b is None else ms(adv_b),
        "garp_b": None if garp_b is None else ms(garp_b),
    }


# ---------------------------------------------------------------------------------------------
# Scenario 3: CPU for 1,000 instances


CPU_IFS = 4
CPU_PER_IF = 250


def cpu_config():
    out = ["global_defs {\n    router_id b5cpu\n}\n"]
    for i in range(CPU_IFS):
        for vrid in range(1, CPU_PER_IF + 1):
            # 508 test IPv4 addresses for 1,000 VIPs: interfaces 0/2 and 1/3 reuse the same VIPs
            # (VIPs are per interface in both daemons).
            vip = f"192.0.2.{vrid}" if i % 2 == 0 else f"198.51.100.{vrid}"
            out.append(
                f"vrrp_instance VI_{i}_{vrid} {{\n    state MASTER\n    interface b5c{i}\n"
                f"    virtual_router_id {vrid}\n    priority 150\n    advert_int 1\n"
                f"    version 2\n    virtual_ipaddress {{\n        {vip}\n    }}\n}}\n")
    return "".join(out)


def task_ns(pids):
    """Time on CPU (ns, user+system) of every thread of `pids`, from schedstat: the tick-based
    utime/stime of /proc/PID/stat have 10 ms resolution, too coarse for a daemon that idles."""
    total, tasks = 0, set()
    for p in pids:
        with contextlib.suppress(OSError):
            for t in os.listdir(f"/proc/{p}/task"):
                with contextlib.suppress(OSError, ValueError, IndexError):
                    total += int(Path(f"/proc/{p}/task/{t}/schedstat").read_text().split()[0])
                    tasks.add(int(t))
    return total, tasks


def cpu(lab, args, sink):
    """Both tools at once (same background load), each alone in its namespace; the adverts they
    put on the wire are counted on the sink side so that the work done is the same."""
    conf = cpu_config()
    runs = {}
    for tool in ("lbd", "keepalived"):
        ns = lab.netns(f"c{tool[0]}")
        for i in range(CPU_IFS):
            veth(ns, f"b5c{i}", sink, f"b5c{tool[0]}{i}", f"192.0.2.{251 + i}/24")
        runs[tool] = {"ns": ns, "d": Daemon(lab, tool, ns, f"cpu-{tool}-{lab.run_id}", conf)}
    want = CPU_IFS * CPU_PER_IF + CPU_IFS  # VIPs plus the interfaces' own addresses
    res = {}
    for tool, r in runs.items():
        try:
            wait_until(f"{tool}: 1,000 VIPs installed", 90,
                       lambda: len([x for x in addrs(r["ns"]) if "." in x]) >= want + 1, step=0.25)
            r["up"] = time.monotonic() - r["d"].started
        except ScenarioError as e:
            res[tool] = {"error": f"{e}\n{r['d'].log_tail()}"}
    time.sleep(args.cpu_settle)
    tick = os.sysconf("SC_CLK_TCK")

    def sample(d):
        pids = d.pids()
        return {p: proc_stat(p)[1] for p in pids if proc_stat(p)}, task_ns(pids)

    with in_netns(sink):
        cap = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
    cap.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    cap.setblocking(False)
    adverts = {"lbd": 0, "keepalived": 0}
    start = {t: sample(r["d"]) for t, r in runs.items() if t not in res}
    t_start = time.monotonic()
    end_at = t_start + args.cpu_seconds
    try:
        while (left := end_at - time.monotonic()) > 0:
            select.select([cap], [], [], min(left, 0.5))
            while True:
                try:
                    data, addr = cap.recvfrom(256)
                except BlockingIOError:
                    break
                if addr[2] != PACKET_OUTGOING and len(data) > 9 and data[9] == 112:
                    tool = "lbd" if addr[0].startswith("b5cl") else "keepalived"
                    adverts[tool] += 1
    finally:
        cap.close()
    wall = time.monotonic() - t_start
    for tool, r in runs.items():
        if tool in res:
            continue
        ticks, (ns_end, tasks_end) = sample(r["d"])
        ticks0, (ns0, tasks0) = start[tool]
        if not r["d"].alive() or set(ticks) != set(ticks0):
            res[tool] = {"error": f"{tool}: processes changed during the window\n{r['d'].log_tail()}"}
            continue
        res[tool] = {"cpu_s": sum(ticks[p] - ticks0[p] for p in ticks) / tick,
                     "sched_s": (ns_end - ns0) / 1e9 if tasks_end == tasks0 else None,
                     "wall_s": wall, "procs": len(ticks), "threads": len(tasks_end),
                     "startup_s": r["up"], "adverts_per_s": adverts[tool] / wall,
                     "vips": len([x for x in addrs(r["ns"]) if "." in x]) - 1 - CPU_IFS,
                     "rss_kb": sum(status_kb(p, "VmRSS") for p in ticks)}
    for r in runs.values():
        r["d"].kill()
        lab.drop_netns(r["ns"])
    return res


# ---------------------------------------------------------------------------------------------
# Scenario 4: RSS with the seed configs


IFNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,14}$")


def config_interfaces(text):
    """Interface names a keepalived.conf refers to (interface, dev, track_interface, ...)."""
    names = []
    in_track = False
    for raw in text.splitlines():
        line = re.split(r"[#!]", raw, maxsplit=1)[0]
        words = line.replace("{", " { ").replace("}", " } ").split()
        for i, w in enumerate(words):
            if in_track:
                if w == "}":
                    in_track = False
                elif w != "{" and IFNAME.match(w) and w not in ("weight",):
                    names.append(w)
                    break
            elif w == "track_interface":
                in_track = True
            elif w in ("interface", "dev", "lvs_sync_daemon_interface") and i + 1 < len(words):
                if IFNAME.match(words[i + 1]):
                    names.append(words[i + 1])
    return list(dict.fromkeys(names))


def exit_reason(log):
    """The line of a daemon's log that says why it stopped."""
    lines = [re.sub(r"^(\w{3} \w{3} +\d+ [\d:]+ \d{4}: |\S+Z +)", "", ln).strip()
             for ln in log.splitlines() if ln.strip()]
    for pattern in (r"fatal", r"can't|cannot|error|not exist|doesn't exist|not found",
                    r"not starting|permanent"):
        pick = [ln for ln in lines if re.search(pattern, ln, re.I)]
        if pick:
            return pick[0][:160]
    return (lines or ["?"])[-1][:160]


def without_workdir(text):
    return re.sub(r"/tmp/b5-scenarios-\w+/", "", text)


def rss(lab, args, sink):
    confs = sorted((HERE / "configs").glob("*.conf"))
    nodes = []
    for k, path in enumerate(confs):
        text = path.read_text(errors="replace")
        for tool in ("lbd", "keepalived"):
            ns = lab.netns(f"r{tool[0]}{k}")
            for j, dev in enumerate(config_interfaces(text) or ["eth0"]):
                veth(ns, dev, sink, f"b5r{tool[0]}{k}n{j}", f"192.0.2.{10 + j}/24")
            nodes.append({"conf": path.name, "tool": tool, "ns": ns, "text": text, "k": k})

    def launch(n, vrrp_only):
        n["mode"] = "VRRP only" if vrrp_only else "full"
        n["d"] = Daemon(lab, n["tool"], n["ns"], f"rss-{n['tool']}-{n['k']}-{n['mode'][0]}",
                        n["text"], vrrp_only=vrrp_only)

    def measure(batch):
        time.sleep(args.rss_settle)
        for _ in range(3):
            for n in batch:
                pids = n["d"].pids()
                if n["d"].alive():
                    n["rss"] = max(n.get("rss", 0), sum(status_kb(p, "VmRSS") for p in pids))
                    n["pss"] = max(n.get("pss", 0), sum(pss_kb(p) for p in pids))
                    n["procs"] = len(pids)
            time.sleep(0.5)
        for n in batch:
            n["alive"] = n["d"].alive()
            if not n["alive"]:
                n["why"] = without_workdir(exit_reason(n["d"].log_tail(40)))
            n["d"].kill()

    # Each daemon as an operator runs it; one that exits (keepalived's checker cannot start
    # without IPVS in the running kernel) is measured again in VRRP-only mode.
    for n in nodes:
        launch(n, vrrp_only=False)
    measure(nodes)
    again = [n for n in nodes if not n["alive"]]
    for n in again:
        n.pop("rss", None)
        n["full_failed"] = n.get("why", "")
        launch(n, vrrp_only=True)
    if again:
        measure(again)
    for n in nodes:
        lab.drop_netns(n["ns"])
    return nodes


# ---------------------------------------------------------------------------------------------
# Report


def fmt(x, nd=1):
    return "-" if x is None else f"{x:.{nd}f}"


def stats(xs):
    return {"n": len(xs), "median": statistics.median(xs), "p90": pctl(xs, 90), "max": max(xs),
            "min": min(xs)} if xs else None


def med(trials, key, f=lambda t, v: v):
    vals = [f(t, t[key]) for t in trials if t.get(key) is not None]
    return statistics.median(vals) if vals else None


def report(args, res, started, cmdline):
    mdi = 3 * FO_ADVERT_CS * 10 + skew_ms(BACKUP_PRIO, FO_ADVERT_CS)
    skew = skew_ms(BACKUP_PRIO, FO_ADVERT_CS)
    kill_goal, term_goal = mdi + 5, skew + 5
    L = []
    now = datetime.datetime.now(datetime.timezone.utc)
    L.append("# VRRP scenarios: lbd vs keepalived\n")
    L.append(f"- date: {now:%Y-%m-%d %H:%M:%S} UTC (run took {time.monotonic() - started:.0f} s)")
    L.append(f"- command: `{cmdline}`")
    built = datetime.datetime.fromtimestamp(os.stat(args.lbd).st_mtime, datetime.timezone.utc)
    L.append(f"- lbd: `{args.lbd}` ({args.lbd_version}, built {built:%Y-%m-%d %H:%M} UTC from "
             f"the tree at commit {args.commit}); keepalived: {args.ka_version}")
    L.append(f"- host: {os.uname().release}, {os.cpu_count()} CPUs, load average at start "
             f"{args.load_start}")
    L.append(f"- failover daemons scheduled {'SCHED_FIFO 10 (chrt, both tools)' if args.rt else 'SCHED_OTHER'}; "
             f"{args.reps} trials per tool and scenario; times from the signal to the kernel's "
             f"RTM_NEWADDR for the VIP in the backup's namespace (netlink listener), wire times "
             f"from a packet socket on the backup's interface (kernel timestamps)")
    L.append("")

    def ratio(x, y):
        return "-" if x is None or y in (None, 0) else f"{x / y:.2f}"

    for key, title, goal, goal_txt in (
        ("kill", "1. Failover after `kill -9` of the master (advert_int 0.1, VRRPv3)", kill_goal,
         f"3 x 100 ms + skew {skew:.1f} ms + 5 ms = **{kill_goal:.1f} ms**, and never slower than keepalived"),
        ("term", "2. Handover after SIGTERM of the master (priority-0 advert)", term_goal,
         f"skew {skew:.1f} ms + 5 ms = **{term_goal:.1f} ms**"),
    ):
        L.append(f"## {title}\n")
        L.append(f"Goal: {goal_txt}. Priorities 150 (master) / 100 (backup).\n")
        L.append("| tool | n | min ms | median ms | p90 ms | max ms | goal met (max) |")
        L.append("|---|---|---|---|---|---|---|")
        st = {}
        for tool in ("lbd", "keepalived"):
            r = res.get(f"{key}-{tool}")
            s = stats([t["total"] for t in r["trials"]]) if r else None
            st[tool] = s
            if s:
                L.append(f"| {tool} | {s['n']} | {s['min']:.1f} | {s['median']:.1f} | {s['p90']:.1f} "
                         f"| {s['max']:.1f} | {'yes' if s['max'] <= goal else 'NO'} |")
            else:
                L.append(f"| {tool} | 0 | - | - | - | - | not measured |")
        sl, sk = st["lbd"], st["keepalived"]
        if sl and sk:
            L.append(f"\nlbd / keepalived: median {ratio(sl['median'], sk['median'])}, "
                     f"p90 {ratio(sl['p90'], sk['p90'])}, max {ratio(sl['max'], sk['max'])}; "
                     f"never slower than keepalived (max): {'yes' if sl['max'] <= sk['max'] else 'NO'}")
            # Trial i of both tools had the same signal phase: compare them pairwise.
            pairs = list(zip(res[f"{key}-lbd"]["trials"], res[f"{key}-keepalived"]["trials"]))
            slower = [(i, x["total"] - y["total"]) for i, (x, y) in enumerate(pairs)
                      if x["total"] > y["total"]]
            L.append(f"\nPaired by signal phase: lbd faster in {len(pairs) - len(slower)} of "
                     f"{len(pairs)} trials" + ("" if not slower else "; slower in trial(s) " + ", ".join(
                         f"{i + 1} (+{d:.1f} ms)" for i, d in slower)))
        # The signal lands at a random point of the advert interval; measured from the event the
        # backup reacts to, the figure no longer depends on that phase.
        ref, ref_txt = ("last_a", "the master's last advert before the kill") if key == "kill" \
            else ("prio0", "the master's priority-0 advert")
        L.append(f"\nFrom {ref_txt} to the VIP on the backup (phase-independent; "
                 f"the protocol's share is {mdi if key == 'kill' else skew:.1f} ms):\n")
        L.append("| tool | n | min ms | median ms | p90 ms | max ms |")
        L.append("|---|---|---|---|---|---|")
        for tool in ("lbd", "keepalived"):
            r = res.get(f"{key}-{tool}")
            s2 = stats([t["total"] - t[ref] for t in r["trials"] if t[ref] is not None]) if r else None
            if s2:
                L.append(f"| {tool} | {s2['n']} | {s2['min']:.1f} | {s2['median']:.1f} | {s2['p90']:.1f} "
                         f"| {s2['max']:.1f} |")
        L.append("\nWhere the time goes (medians, ms after the signal):\n")
        if key == "kill":
            L.append("| tool | master's last advert | backup's timer due (last advert + "
                     f"{mdi:.1f}) | VIP on backup | backup's own processing (VIP - timer due) "
                     "| backup's first advert | backup's first GARP |")
            L.append("|---|---|---|---|---|---|---|")
            for tool in ("lbd", "keepalived"):
                r = res.get(f"{key}-{tool}")
                if not r or not r["trials"]:
                    continue
                tr = r["trials"]
                L.append(f"| {tool} | {fmt(med(tr, 'last_a'))} | "
                         f"{fmt(med(tr, 'last_a', lambda t, v: v + mdi))} | {fmt(med(tr, 'total'))} | "
                         f"{fmt(med([t for t in tr if t['last_a'] is not None], 'total', lambda t, v: v - t['last_a'] - mdi))} | "
                         f"{fmt(med(tr, 'advert_b'))} | {fmt(med(tr, 'garp_b'))} |")
        else:
            L.append("| tool | master's priority-0 advert | VIP on backup | backup's reaction "
                     f"(VIP - priority 0) | of which skew | backup's processing | backup's first advert "
                     "| backup's first GARP |")
            L.append("|---|---|---|---|---|---|---|---|")
            for tool in ("lbd", "keepalived"):
                r = res.get(f"{key}-{tool}")
                if not r or not r["trials"]:
                    continue
                tr = r["trials"]
                with_p0 = [t for t in tr if t["prio0"] is not None]
                react = med(with_p0, "total", lambda t, v: v - t["prio0"])
                L.append(f"| {tool} | {fmt(med(tr, 'prio0'))} | {fmt(med(tr, 'total'))} | "
                         f"{fmt(react)} | {skew:.1f} | {fmt(None if react is None else react - skew)} | "
                         f"{fmt(med(tr, 'advert_b'))} | {fmt(med(tr, 'garp_b'))} |")
        L.append(f"\nRaw, per trial (ms after the signal): VIP on backup "
                 f"[{'master last advert' if key == 'kill' else 'priority-0 advert'}, backup's first advert]:\n")
        for tool in ("lbd", "keepalived"):
            r = res.get(f"{key}-{tool}")
            if r:
                L.append(f"- {tool}: " + (", ".join(
                    f"{t['total']:.1f} [{fmt(t[ref])}, {fmt(t['advert_b'])}]" for t in r["trials"])
                    or "none"))
                for f_ in r["failures"]:
                    L.append(f"  - FAILED: `{f_.splitlines()[0]}`")
        L.append("")

    L.append(f"## 3. CPU time, 1,000 master instances at advert_int 1 (VRRPv2), "
             f"{args.cpu_seconds:.0f} s window\n")
    L.append("Goal: lbd at most half of keepalived. 4 veths x 250 VRIDs, one VIP each; both daemons "
             f"run at the same time in their own namespaces; window starts {args.cpu_settle:.0f} s "
             "after all 1,000 VIPs are installed; utime+stime from /proc/PID/stat summed over the "
             "daemon's processes.\n")
    L.append("| tool | processes (threads) | VIPs | adverts/s on the wire | spawn to 1,000 VIPs s "
             "| CPU s in window (stat ticks) | CPU s in window (schedstat) | CPU % of one core | RSS kB |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    c = res.get("cpu", {})
    for tool in ("lbd", "keepalived"):
        r = c.get(tool)
        if r and "error" not in r:
            best = r["sched_s"] if r["sched_s"] is not None else r["cpu_s"]
            L.append(f"| {tool} | {r['procs']} ({r['threads']}) | {r['vips']} | {r['adverts_per_s']:.0f} | "
                     f"{r['startup_s']:.1f} | {r['cpu_s']:.2f} | {fmt(r['sched_s'], 3)} | "
                     f"{100 * best / r['wall_s']:.2f} | {r['rss_kb']} |")
        else:
            err = (r or {}).get("error", "not measured").splitlines()[0]
            L.append(f"| {tool} | - | - | - | - | - | - | - | FAILED: {err} |")
    cl, ck = c.get("lbd", {}), c.get("keepalived", {})
    if "cpu_s" in cl and "cpu_s" in ck:
        def best(r):
            return r["sched_s"] if r.get("sched_s") is not None else r["cpu_s"]
        rt_ = best(cl) / best(ck) if best(ck) else float("inf")
        rt_ticks = cl["cpu_s"] / ck["cpu_s"] if ck["cpu_s"] else float("inf")
        L.append(f"\nlbd / keepalived CPU: **{rt_:.2f}** (schedstat; {rt_ticks:.2f} by stat ticks) "
                 f"(goal <= 0.50: {'met' if rt_ <= 0.5 else 'NOT met'})")
    L.append("")

    L.append("## 4. RSS with the seed configs\n")
    L.append("Goal: lbd at most keepalived's processes together. Each config alone in a namespace "
             "whose veths carry the interface names it uses; the daemon as an operator runs it "
             "(`lbd -n -f`, `keepalived -n -f`), or VRRP-only where the full daemon exits; max of 3 "
             f"samples after {args.rss_settle:.0f} s. PSS (shared pages split) for reference. "
             "Where keepalived's full mode exits because its checker cannot initialise IPVS (the "
             "running kernel has none), it is measured with `--vrrp`: parent + VRRP child only, "
             "which makes the comparison stricter for lbd (keepalived's checker process is not "
             "counted).\n")
    L.append("| config | lbd mode | lbd RSS kB | keepalived mode | keepalived procs | keepalived RSS kB (sum) "
             "| lbd / keepalived RSS | lbd PSS kB | keepalived PSS kB |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    nodes = res.get("rss", [])
    notes = set()
    for conf in sorted({n["conf"] for n in nodes}):
        by = {n["tool"]: n for n in nodes if n["conf"] == conf}
        li, ki = by.get("lbd", {}), by.get("keepalived", {})

        def cell(n):
            if n.get("rss") and n.get("alive"):
                return str(n["rss"])
            return "exited"

        for n in (li, ki):
            if n.get("full_failed"):
                notes.add(f"{n['tool']} full mode exited on {conf}: `{n['full_failed']}`")
            if n.get("why") and not n.get("alive"):
                notes.add(f"{n['tool']} {n.get('mode')} mode exited on {conf}: `{n['why']}`")
        ok = li.get("alive") and ki.get("alive") and li.get("rss") and ki.get("rss")
        L.append(f"| {conf} | {li.get('mode', '-')} | {cell(li)} | {ki.get('mode', '-')} | "
                 f"{ki.get('procs', '-')} | {cell(ki)} | "
                 f"{ratio(li['rss'], ki['rss']) if ok else '-'} | {li.get('pss', '-')} | {ki.get('pss', '-')} |")
    if notes:
        L.append("")
    for note in sorted(notes):
        L.append(f"- {note}")
    L.append("")
    return "\n".join(L)


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lbd", required=True)
    ap.add_argument("--run-id", default=f"{os.getpid() & 0xffff:04x}")
    ap.add_argument("--quick", action="store_true", help="15 s CPU window (default 60 s)")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--no-rt", dest="rt", action="store_false",
                    help="failover daemons under SCHED_OTHER instead of SCHED_FIFO 10")
    ap.add_argument("--only", default="kill,term,cpu,rss")
    ap.add_argument("--out", default=str(HERE / "results" / "vrrp-latest.md"))
    ap.add_argument("--seed", type=int, default=5798, help="seed of the signal phases")
    ap.add_argument("--budget", type=int, default=0, help="seconds for the whole run")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (configs, logs)")
    ap.add_argument("--cmdline", default=" ".join(sys.argv))
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("vrrp.py: run as root (network namespaces, raw sockets)")
    args.cpu_seconds = 15.0 if args.quick else 60.0
    args.cpu_settle = 6.0
    args.rss_settle = 3.0 if args.quick else 5.0
    budget = args.budget or (270 if args.quick else 330)
    started = time.monotonic()
    deadline = started + budget
    only = set(args.only.split(","))
    args.load_start = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    args.lbd_version = sh(args.lbd, "--version", check=False, capture=True).strip()
    args.commit = sh("git", "-C", str(HERE), "rev-parse", "--short", "HEAD", check=False,
                     capture=True).strip() or "?"
    args.ka_version = (sh(KEEPALIVED, "--version", check=False).stderr.splitlines() or ["?"])[0]

    def on_alarm(*_):
        raise Deadline("global time budget exceeded")

    def on_term(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.alarm(budget + 60)
    if args.rt and subprocess.run(["chrt", "-f", "10", "true"], capture_output=True).returncode:
        print("[vrrp] SCHED_FIFO not permitted here: failover daemons run under SCHED_OTHER",
              file=sys.stderr)
        args.rt = False
    if args.rt:
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(20))
    work = Path(f"/tmp/b5-scenarios-{args.run_id}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    lab = Lab(args.run_id, work)
    lab.lbd = args.lbd
    lab.lbd_status_socket = "--status-socket" in sh(args.lbd, "--help", check=False, capture=True)
    res = {}
    status = 0
    try:
        # Failover first (the tight timing), each (scenario, tool) with an equal share of what
        # the budget leaves after the CPU and RSS scenarios' own time.
        reserve = (args.cpu_seconds + 60 if "cpu" in only else 0) + (25 if "rss" in only else 0)
        slots = [(m, t) for m in ("kill", "term") if m in only for t in ("lbd", "keepalived")]
        for i, (mode, tool) in enumerate(slots):
            share = (deadline - reserve - time.monotonic()) / (len(slots) - i)
            print(f"[vrrp] {mode}: {tool} ({share:.0f} s) ...", file=sys.stderr, flush=True)
            res[f"{mode}-{tool}"] = failover(lab, args, tool, mode,
                                             time.monotonic() + max(share, 10) - 6)
        if os.getuid() == 0 and args.rt:
            with contextlib.suppress(OSError):
                os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        sink = lab.netns("sk")
        if "cpu" in only:
            print("[vrrp] cpu: both tools, 1,000 instances ...", file=sys.stderr, flush=True)
            try:
                res["cpu"] = cpu(lab, args, sink)
            except ScenarioError as e:
                res["cpu"] = {"lbd": {"error": str(e)}, "keepalived": {"error": str(e)}}
        if "rss" in only:
            print("[vrrp] rss: seed configs ...", file=sys.stderr, flush=True)
            res["rss"] = rss(lab, args, sink)
    except (Deadline, KeyboardInterrupt) as e:
        print(f"[vrrp] stopped: {e!r}; reporting what was measured", file=sys.stderr)
        status = 1
    finally:
        signal.alarm(0)
        lab.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"[vrrp] work dir kept: {work}", file=sys.stderr)
    text = report(args, res, started, args.cmdline)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    print(f"[vrrp] written {out}", file=sys.stderr)
    if any(r.get("failures") for k, r in res.items() if k.startswith(("kill", "term"))):
        status = status or 1
    return status


if __name__ == "__main__":
    sys.exit(main())
