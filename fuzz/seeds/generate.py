#!/usr/bin/env python3
"""Regenerates the seed corpora in fuzz/seeds/<target>/ (run from anywhere; deterministic).

Sources: the keepalived golden adverts (vrrp-core/tests/golden), the shared test configs
(lbd/tests/data/shared), and hand-written HTTP / SMTP / DNS / netlink / ipvsadm samples below, each
laid out the way its fuzz target reads its input (see the doc comment of each target).
"""
import hashlib
import pathlib
import shutil
import struct

FUZZ = pathlib.Path(__file__).resolve().parent.parent
REPO = FUZZ.parent
SEEDS = FUZZ / "seeds"


def write(target, name, data):
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def vrrp_advert():
    # Knob byte: bit 0 = IPv6, bit 1 = VRRPv2; then the VRRP message.
    for f in sorted((REPO / "vrrp-core/tests/golden").glob("*.txt")):
        fields = dict(
            line.split(None, 1)
            for line in f.read_text().splitlines()
            if line and not line.startswith("#")
        )
        knobs = (1 if ":" in fields["src"] else 0) | (2 if f.name.startswith("v2_") else 0)
        write("vrrp_advert", f.stem, bytes([knobs]) + bytes.fromhex(fields["msg"].strip()))


def config_parser():
    for f in sorted((REPO / "lbd/tests/data/shared").glob("*.conf")):
        write("config_parser", f.name, f.read_bytes())


def http_response():
    # Knob byte: bit 0 = want the body digest, bits 1-7 seed the chunk splits.
    responses = {
        "ok_length": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
        "ok_close": b"HTTP/1.0 200 OK\r\nServer: test\r\n\r\nbody until close",
        "chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "redirect_lf": b"HTTP/1.1 302 Found\nLocation: /x\nContent-Length: 0\n\n",
        "not_found": b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found",
        "short_body": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",
        "dup_length": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
    }
    for i, (name, resp) in enumerate(responses.items()):
        write("http_response", name, bytes([(i * 37) & 0xFE | 1]) + resp)
    write("http_response", "head_only", bytes([0x10]) + responses["not_found"])


def smtp_reply():
    # Byte 0 = HELO name length, the name, a chunk-split seed, then the server's bytes.
    def seed(name, server, split=7):
        return bytes([len(name)]) + name + bytes([split]) + server

    write("smtp_reply", "dialogue", seed(b"lb1.example", b"220 mail.example ESMTP\r\n250 hi\r\n221 bye\r\n"))
    write("smtp_reply", "multiline", seed(b"lb", b"220-mail.example\r\n220-more\r\n220 ready\r\n250-a\r\n250 b\r\n221 x\r\n", 3))
    write("smtp_reply", "bare_lf", seed(b"x", b"220 ok\n250 ok\n221\n"))
    write("smtp_reply", "rejected", seed(b"x", b"554 go away\r\n"))
    write("smtp_reply", "helo_refused", seed(b"x", b"220 ok\r\n550 no\r\n"))


def dns_query(qid, name, qtype):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        if label:
            q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", qtype, 1)


def dns_response():
    # Bytes 0-1 id, byte 2 knobs (bits 0-2 type index, bit 7 reuse header), byte 3 name length,
    # the name, then the response.
    types = {"A": (0, 1), "AAAA": (6, 28), "SOA": (3, 6), "MX": (4, 15)}

    def seed(qid, name, tname, resp, knobs=0):
        idx, _ = types[tname]
        return struct.pack(">H", qid) + bytes([idx | knobs, len(name)]) + name.encode() + resp

    def answer(q, rcode=0, flags=0x8180, records=b"", ancount=0):
        return struct.pack(">HHHHHH", struct.unpack(">H", q[:2])[0], flags | rcode, 1, ancount, 0, 0) + q[12:] + records

    qa = dns_query(0x1234, "www.example.test", 1)
    rr_a = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 1])
    write("dns_response", "a_answer", seed(0x1234, "www.example.test", "A", answer(qa, records=rr_a, ancount=1)))
    write("dns_response", "nxdomain", seed(0x1234, "www.example.test", "A", answer(qa, rcode=3)))
    write("dns_response", "truncated", seed(0x1234, "www.example.test", "A", answer(qa, flags=0x8380)))
    q6 = dns_query(7, "v6.test", 28)
    rr_aaaa = b"\xc0\x0c" + struct.pack(">HHIH", 28, 1, 60, 16) + bytes.fromhex("20010db8000000000000000000000001")
    write("dns_response", "aaaa_answer", seed(7, "v6.test", "AAAA", answer(q6, records=rr_aaaa, ancount=1)))
    qr = dns_query(1, "", 6)
    write("dns_response", "root_soa", seed(1, "", "SOA", answer(qr)))
    # Only the question section: the target prepends the query's header with QR set (knob bit 7).
    qm = dns_query(9, "mx.test", 15)
    write("dns_response", "header_reuse", seed(9, "mx.test", "MX", answer(qm)[12:], knobs=0x80))


NLMSG_ERROR, NLMSG_DONE, NLM_F_MULTI = 2, 3, 2
IPVS_FAMILY = 0x1C


def nla(ty, payload, nested=False):
    hdr = struct.pack("<HH", 4 + len(payload), ty | (0x8000 if nested else 0))
    pad = b"\0" * ((4 - len(payload) % 4) % 4)
    return hdr + payload + pad


def nlmsg(ty, flags, seq, payload):
    return struct.pack("<IHHII", 16 + len(payload), ty, flags, seq, 4242) + payload


def genl(cmd, attrs):
    return bytes([cmd, 1, 0, 0]) + b"".join(attrs)


def stats(width):
    fmt = "<Q" if width == 8 else "<I"
    return b"".join(nla(i, struct.pack(fmt, i * 10)) for i in range(1, 11))


def ipvs_reply():
    v4 = bytes([192, 0, 2, 10]) + b"\0" * 12
    svc = nla(1, b"".join([
        nla(1, struct.pack("<H", 2)), nla(2, struct.pack("<H", 6)), nla(3, v4),
        nla(4, struct.pack(">H", 80)), nla(6, b"wlc\0"), nla(11, b"\0"),
        nla(7, struct.pack("<II", 0x3, 0xFFFFFFFF)), nla(8, struct.pack("<I", 300)),
        nla(9, bytes([255, 255, 255, 0])), nla(10, stats(4), True), nla(12, stats(8), True),
    ]), True)
    dest = nla(2, b"".join([
        nla(1, bytes([198, 51, 100, 1]) + b"\0" * 12), nla(2, struct.pack(">H", 80)),
        nla(3, struct.pack("<I", 3)), nla(4, struct.pack("<I", 3)), nla(5, struct.pack("<I", 0)),
        nla(6, struct.pack("<I", 0)), nla(7, struct.pack("<I", 4)), nla(8, struct.pack("<I", 5)),
        nla(9, struct.pack("<I", 0)), nla(11, struct.pack("<H", 2)), nla(10, stats(4), True),
        nla(12, stats(8), True),
    ]), True)
    tun = nla(2, b"".join([
        nla(1, bytes.fromhex("20010db8000000000000000000000002")), nla(2, struct.pack(">H", 443)),
        nla(3, struct.pack("<I", 2)), nla(11, struct.pack("<H", 10)),
        nla(13, bytes([1])), nla(14, struct.pack(">H", 6080)),
        nla(15, struct.pack("<H", 1)),
    ]), True)
    daemon = nla(3, b"".join([
        nla(1, struct.pack("<I", 1)), nla(2, b"eth0\0"), nla(3, struct.pack("<I", 7)),
        nla(4, struct.pack("<H", 1472)), nla(5, bytes([224, 0, 0, 81])), nla(7, struct.pack("<H", 8848)),
        nla(8, bytes([1])),
    ]), True)
    done = nlmsg(NLMSG_DONE, NLM_F_MULTI, 1, struct.pack("<i", 0))
    write("ipvs_reply", "service_dump", nlmsg(IPVS_FAMILY, NLM_F_MULTI, 1, genl(1, [svc])) + done)
    write("ipvs_reply", "dest_dump",
          nlmsg(IPVS_FAMILY, NLM_F_MULTI, 2, genl(5, [dest])) + nlmsg(IPVS_FAMILY, NLM_F_MULTI, 2, genl(5, [tun])) + done)
    write("ipvs_reply", "daemon", nlmsg(IPVS_FAMILY, 0, 3, genl(9, [daemon])))
    write("ipvs_reply", "info", nlmsg(IPVS_FAMILY, 0, 4, genl(14, [nla(1, struct.pack("<I", 0x010206)), nla(2, struct.pack("<I", 4096))])))
    write("ipvs_reply", "timeouts", nlmsg(IPVS_FAMILY, 0, 5, genl(13, [nla(4, struct.pack("<I", 900)), nla(5, struct.pack("<I", 120)), nla(6, struct.pack("<I", 300))])))
    write("ipvs_reply", "family", nlmsg(0x10, 0, 6, genl(1, [nla(2, b"IPVS\0"), nla(1, struct.pack("<H", IPVS_FAMILY))])))
    req = nlmsg(IPVS_FAMILY, 5, 7, genl(1, [svc]))
    ext = nla(1, b"No such service\0")
    write("ipvs_reply", "error_ext_ack", nlmsg(NLMSG_ERROR, 0x100 | 0x200, 7, struct.pack("<i", -3) + req[:16] + ext))
    write("ipvs_reply", "error_full", nlmsg(NLMSG_ERROR, 0x200, 7, struct.pack("<i", -17) + req + ext))
    write("ipvs_reply", "ack", nlmsg(NLMSG_ERROR, 0x100, 8, struct.pack("<i", 0) + req[:16]))


def ipvs_rules():
    write("ipvs_rules", "save", b"""-A -t 192.0.2.10:80 -s wlc -p 300 -M 255.255.255.0
-a -t 192.0.2.10:80 -r 198.51.100.1:80 -g -w 3
-a -t 192.0.2.10:80 -r 198.51.100.2:8080 -m -w 1 -x 100 -y 10
-A -u [2001:db8::1]:53 -s rr
-a -u [2001:db8::1]:53 -r [2001:db8::2]:53 -i --tun-type gue --tun-port 6080 --tun-nocsum
-A -f 5 -6 -s sh -b sh-port,sh-fallback -p
""")
    write("ipvs_rules", "commands", b"""# comment
ipvsadm -E -u 192.0.2.10:53 -s rr -o
ipvsadm -e -t 192.0.2.10:80 -r 198.51.100.1:80 -g -w 0
ipvsadm -d -t 192.0.2.10:80 -r 198.51.100.1:80
ipvsadm -D -t 192.0.2.10:80
ipvsadm --set 900 120 300
ipvsadm --start-daemon master --mcast-interface eth0 --syncid 7
ipvsadm -C
""")
    write("ipvs_rules", "tunnels", b"""-A -t 192.0.2.20:443 -s mh -b mh-port --pe sip
-a -t 192.0.2.20:443 -r 198.51.100.3 -i --tun-type gre --tun-csum
-a -t 192.0.2.20:443 -r 198.51.100.4 -i --tun-type ipip
""")


if __name__ == "__main__":
    if SEEDS.exists():
        for d in SEEDS.iterdir():
            if d.is_dir():
                shutil.rmtree(d)
    for gen in (config_parser, dns_response, http_response, ipvs_reply, ipvs_rules, smtp_reply, vrrp_advert):
        gen()
    for d in sorted(p for p in SEEDS.iterdir() if p.is_dir()):
        files = sorted(d.iterdir())
        digest = hashlib.sha1(b"".join(f.read_bytes() for f in files)).hexdigest()[:12]
        print(f"{d.name}: {len(files)} seeds ({digest})")
