#!/usr/bin/env python3
"""Writes the issue-6 scale configuration: N virtual servers x M real servers, one TCP_CHECK each.

Usage: gen_lvs_conf.py [--vs 2500] [--rs 16] [--rs-base 127.0.0.1] [--weight-bump VS,RS] > big.conf

Virtual servers are 198.51.100.1-250 on ports 10000 upwards (NAT, wrr, delay_loop 60); the real
servers of virtual server i are RS_BASE + j on port 20000 + i, so one loopback listener per
virtual server serves all of its checks. `--weight-bump` gives one real server weight 2: the
same file with one weight edited, for timing a reload.
"""

import argparse
import ipaddress
import sys


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--vs", type=int, default=2500)
    p.add_argument("--rs", type=int, default=16)
    p.add_argument("--rs-base", default="127.0.0.1")
    p.add_argument("--weight-bump", default=None, help="VS,RS (0-based) to give weight 2")
    a = p.parse_args()
    bump = tuple(int(x) for x in a.weight_bump.split(",")) if a.weight_bump else None
    base = ipaddress.ip_address(a.rs_base)
    out = ["global_defs {\n  router_id lbd_scale\n}\n"]
    for i in range(a.vs):
        vip = f"198.51.100.{i % 250 + 1}"
        out.append(
            f"virtual_server {vip} {10000 + i // 250} {{\n"
            "  delay_loop 60\n  lb_algo wrr\n  lb_kind NAT\n  protocol TCP\n"
        )
        for j in range(a.rs):
            w = 2 if bump == (i, j) else 1
            out.append(
                f"  real_server {base + j} {20000 + i} {{\n"
                f"    weight {w}\n"
                "    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n"
            )
        out.append("}\n")
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main()
