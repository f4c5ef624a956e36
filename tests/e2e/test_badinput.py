#!/usr/bin/env python3
"""e2e_badinput: hostile UDP input to the edge while real flows stream, full stack.

Real flows: fl0wer-gen (v5, v9, IPFIX) from 127.0.7.1-3, paced over a few seconds. At the same
time, from their own source addresses:
  127.0.7.10  random bytes (2000 datagrams, 0-1500 bytes, versions mostly invalid; a quarter
              start with a valid version number 5/9/10 followed by garbage);
  127.0.7.11  the real workload's own datagrams truncated at random lengths;
  127.0.7.12  lying length fields: IPFIX message length 0/15/65535/longer than the datagram,
              v9/IPFIX set lengths 0, 2, 3 and past the end, v5 count 30 with 2 records;
  127.0.7.13  template floods: 5000 v9 template ids and 5000 IPFIX template ids, then data
              sets for ids that were never defined.
Asserted: both processes stay up (and exit 0 on SIGTERM); the real exporters' totals
(summary with an exporter filter, and their top --by exporter rows) are exactly the
workload's decoded pcap; `fl0wer exporters` shows decode errors for the random, truncated and
lying sources, and the flood's templates/errors; nothing was dropped by the edge.
"""
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib as L  # noqa: E402

REAL = "127.0.7.1,127.0.7.2,127.0.7.3"
RANDOM, TRUNC, LIES, FLOOD = "127.0.7.10", "127.0.7.11", "127.0.7.12", "127.0.7.13"


def pcap_payloads(path):
    """UDP payloads of fl0wer-gen's pcap (Ethernet/IPv4/UDP, no options)."""
    data = open(path, "rb").read()
    off, out = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        frame = data[off + 16:off + 16 + incl]
        ihl = (frame[14] & 15) * 4
        out.append(frame[14 + ihl + 8:])
        off += 16 + incl
    return out


def v9_header(count, seq, source_id=0):
    return struct.pack("!HHIIII", 9, count, 1000, int(time.time()), seq, source_id)


def ipfix(sets, seq, domain=1, length=None):
    body = b"".join(sets)
    n = 16 + len(body) if length is None else length
    return struct.pack("!HHIII", 10, n & 0xFFFF, int(time.time()), seq, domain) + body


def lies():
    out = []
    tpl = struct.pack("!HHHHHH", 300, 2, 8, 4, 12, 4)  # id 300: src addr, dst addr
    for n in (0, 15, 65535, 200):
        out.append(ipfix([struct.pack("!HH", 2, 4 + len(tpl)) + tpl], 1, length=n))
    for set_len in (0, 2, 3, 5000):
        out.append(ipfix([struct.pack("!HH", 2, set_len) + tpl], 2))
        out.append(v9_header(1, 3) + struct.pack("!HH", 0, set_len) + tpl)
    rec = bytes(48)
    out.append(struct.pack("!HHIIIIBBH", 5, 30, 1000, int(time.time()), 0, 0, 0, 0, 0) +
               rec * 2)
    out.append(struct.pack("!HH", 5, 0))           # header cut short
    out.append(v9_header(50, 4) + struct.pack("!HH", 300, 12) + bytes(8))  # data, no template
    return out * 5


def flood():
    out = []
    for version in (9, 10):
        ids = list(range(256, 5256))
        seq = 0
        while ids:
            chunk, ids = ids[:110], ids[110:]
            tpls = b"".join(struct.pack("!HHHHHH", i, 2, 8, 4, 12, 4) for i in chunk)
            if version == 9:
                out.append(v9_header(len(chunk), seq, 7) + struct.pack("!HH", 0, 4 + len(tpls))
                           + tpls)
            else:
                out.append(ipfix([struct.pack("!HH", 2, 4 + len(tpls)) + tpls], seq, domain=7))
            seq += 1
    for i in range(200):  # data for ids never defined
        out.append(v9_header(1, 1000 + i, 7) + struct.pack("!HH", 60000, 12) + bytes(8))
    return out


def send_all(addr, dgrams, udp, pace):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 0))
    for i, d in enumerate(dgrams):
        s.sendto(d, ("127.0.0.1", udp))
        if i % 20 == 19:
            time.sleep(pace)
    s.close()


def main():
    st = L.Stack("badinput")
    rnd = random.Random(1234)
    try:
        start_ms = (int(time.time()) - 120) * 1000
        args = ["--seed", "51", "--flows", "12000", "--exporters", "3", "--versions", "5,9,10",
                "--ipv6-share", "0.2", "--sampling", "2", "--records-per-packet", "20",
                "--start", str(start_ms), "--window", "60000", "--bind", REAL]
        pcap = os.path.join(st.dir, "real.pcap")
        L.gen(args, "--pcap", pcap)
        recs = L.decode_records([pcap])
        real = pcap_payloads(pcap)
        L.check(len(real) > 100, "workload datagrams read from the pcap (%d)" % len(real))

        junk = []
        for _ in range(2000):
            d = bytearray(rnd.randbytes(rnd.randint(0, 1500)))
            if rnd.random() < 0.25 and len(d) >= 2:
                d[0:2] = struct.pack("!H", rnd.choice((5, 9, 10)))
            junk.append(bytes(d))
        trunc = [d[:rnd.randint(0, len(d) - 1)] for d in real]

        key = st.keygen("site-bad")
        st.start_hub()
        udp = L.free_port(L.socket.SOCK_DGRAM)
        edge = st.start_edge(key, udp, os.path.join(st.dir, "spool"))
        sender = subprocess.Popen([L.GEN] + args + ["--pps", "150", "--send",
                                                    "127.0.0.1:%d" % udp],
                                  stdout=subprocess.PIPE, text=True, start_new_session=True)
        threads = [threading.Thread(target=send_all, args=a) for a in (
            (RANDOM, junk, udp, 0.05), (TRUNC, trunc, udp, 0.05), (LIES, lies(), udp, 0.05),
            (FLOOD, flood(), udp, 0.02))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        out, _ = sender.communicate(timeout=60)
        L.check_eq(L.json.loads(out)["records"], len(recs), "the real workload was sent whole")
        L.check(edge.alive() and st.hub.alive(), "edge and hub survive the bad input")
        flt = "exporter 127.0.7.1 or exporter 127.0.7.2 or exporter 127.0.7.3"
        want = L.sums(recs)
        L.wait_for(lambda: st.totals("--unscaled", "--filter", flt)["flows"] >= want["flows"],
                   40, "real flows at the hub")
        L.check_eq(edge.stop(), 0, "edge exits 0 on SIGTERM after the bad input")

        L.check_eq(st.totals("--unscaled", "--filter", flt), want,
                   "real exporters' totals exact (unscaled)")
        L.check_eq(st.totals("--filter", flt), L.sums(recs, scaled=True),
                   "real exporters' totals exact (scaled)")
        rows = L.rows_by_key(st.top("exporter"))
        L.check_eq({k: v for k, v in rows.items() if k in REAL.split(",")},
                   L.group(recs, "exporter"), "top --by exporter: the real exporters' rows")

        exp = st.cli("exporters")["exporters"]
        by_addr = {}
        for e in exp:
            a = by_addr.setdefault(e["address"], {"errors": 0, "templates": 0,
                                                  "unknown_template": 0, "messages": 0})
            for k in a:
                a[k] += e[k]
        for addr, what in ((RANDOM, "random bytes"), (TRUNC, "truncated datagrams"),
                           (LIES, "lying length fields")):
            L.check(by_addr.get(addr, {}).get("errors", 0) > 0,
                    "fl0wer exporters: decode errors counted for %s (%s): %r"
                    % (what, addr, by_addr.get(addr)))
        fl = by_addr.get(FLOOD, {})
        L.check(fl.get("templates", 0) + fl.get("errors", 0) >= 1000,
                "fl0wer exporters: the template flood is visible (templates + errors): %r" % fl)
        L.check(fl.get("unknown_template", 0) > 0,
                "fl0wer exporters: data for undefined templates counted: %r" % fl)
        for addr in REAL.split(","):
            L.check_eq(by_addr.get(addr, {}).get("errors"), 0, "real exporter %s: no errors"
                       % addr)
        e = st.cli("edges")["edges"]
        L.check_eq([(x["records_dropped"], x["kernel_drops"]) for x in e], [(0, 0)],
                   "edge dropped nothing")
        L.check_eq(st.hub.stop(), 0, "hub exits 0 on SIGTERM")
    finally:
        st.close()
    L.finish()


if __name__ == "__main__":
    main()
