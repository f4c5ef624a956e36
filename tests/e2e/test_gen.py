#!/usr/bin/env python3
"""e2e_gen: a generated workload through edge -> hub -> CLI, exact.

Two fl0wer-gen runs (deterministic by seed) send over UDP from five source addresses:
  A: 3 exporters (NetFlow v5, v9, IPFIX), 30 % IPv6 on v9/IPFIX, no sampling;
  B: 2 exporters (v9, IPFIX), 50 % IPv6, 1-in-64 sampling.
Run A's 150,000 mostly distinct flows are more than a worker's 65,536-record measuring window,
so the edge's adaptive aggregation (--aggregate-min-reduction, default 10 %) switches to sampled
mode and forwards most records unmerged: asserted from its final log line (agg_bypassed > 0), so
every exact check below also covers that mode.
The same runs also write a pcap, which fl0wer-decode turns into NDJSON records offline: the
expected values are computed from those records (and cross-checked against fl0wer-gen's
printed totals). Asserted exactly (flows, bytes, packets):
  - `fl0wer summary` scaled and --unscaled over the whole range, and over a sub-range whose
    bounds are whole seconds (flows are placed by end time; the edge's 1 s buckets keep each
    record in its second);
  - `fl0wer top` (every row) by srcip, dstip, dstport, proto, exporter, scaled and unscaled;
  - `fl0wer summary --filter` for proto tcp, dst port 443, net 10.0.0.0/8, ipv6,
    exporter 127.0.1.4, port 53 or port 853 (predicates evaluated here on the records);
  - `fl0wer exporters`: records per exporter and version; `fl0wer edges`: no drops.
"""
import ipaddress
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib as L  # noqa: E402

RUNS = [
    {"name": "A", "args": ["--seed", "7", "--flows", "150000", "--exporters", "3",
                           "--versions", "5,9,10", "--ipv6-share", "0.3", "--sampling", "1"],
     "bind": "127.0.1.1,127.0.1.2,127.0.1.3"},
    {"name": "B", "args": ["--seed", "8", "--flows", "6000", "--exporters", "2",
                           "--versions", "9,10", "--ipv6-share", "0.5", "--sampling", "64"],
     "bind": "127.0.1.4,127.0.1.5"},
]

NET10 = ipaddress.ip_network("10.0.0.0/8")
TOP_CAP = 10000  # `fl0wer top -n` takes at most this many rows


def check_rows(got, want, what):
    """Every row of a top-N equals the expected group; past TOP_CAP groups (run A's ephemeral
    destination ports), the TOP_CAP returned are exact and no group left out is larger."""
    if len(want) <= TOP_CAP:
        L.check_eq(got, want, what + ", every row")
        return
    L.check_eq(len(got), TOP_CAP, what + ": %d of %d groups" % (TOP_CAP, len(want)))
    L.check_eq(got, {k: want.get(k) for k in got}, what + ": every returned row")
    left = max(v["bytes"] for k, v in want.items() if k not in got)
    L.check(min(v["bytes"] for v in got.values()) >= left,
            what + ": the returned rows are the largest by bytes")


def in_net(a, net):
    ip = ipaddress.ip_address(a)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.version == net.version and ip in net


FILTERS = [
    ("proto tcp", lambda r: r["proto"] == 6),
    ("dst port 443", lambda r: r["dst_port"] == 443),
    ("net 10.0.0.0/8", lambda r: in_net(r["src_addr"], NET10) or in_net(r["dst_addr"], NET10)),
    ("ipv6", lambda r: ":" in r["src_addr"]),
    ("exporter 127.0.1.4", lambda r: r["exporter"] == "127.0.1.4"),
    ("port 53 or port 853", lambda r: r["src_port"] in (53, 853) or r["dst_port"] in (53, 853)),
]


def gen(args, *extra):
    out = subprocess.run([L.GEN] + args + list(extra), capture_output=True, text=True,
                         timeout=120, check=True)
    return json.loads(out.stdout)


def main():
    st = L.Stack("gen")
    try:
        # Flow end times lie in [start, start + window]: keep them all in the past so the
        # edge's buckets close right away (a future bucket would be held until it ends).
        start_ms = (int(time.time()) - 120) * 1000
        common = ["--start", str(start_ms), "--window", "60000", "--pps", "5000"]
        records, gen_tot = [], {"flows": 0, "bytes": 0, "packets_counted": 0,
                                "bytes_scaled": 0, "packets_scaled": 0, "ipv6_flows": 0}
        for run in RUNS:
            pcap = os.path.join(st.dir, "gen-%s.pcap" % run["name"])
            t = gen(run["args"], "--start", str(start_ms), "--window", "60000",
                    "--bind", run["bind"], "--pcap", pcap)
            run["totals"] = t
            for k in gen_tot:
                gen_tot[k] += t[k]
            recs = L.decode_records([pcap])
            L.check_eq(len(recs), t["records"], "run %s: pcap decodes to gen's records"
                       % run["name"])
            records += recs
        L.check(gen_tot["ipv6_flows"] > 1000, "workload has IPv6 flows (%d)"
                % gen_tot["ipv6_flows"])
        raw, scaled = L.sums(records), L.sums(records, scaled=True)
        # The expected values agree with fl0wer-gen's own model (two independent sources).
        L.check_eq(raw, {"flows": gen_tot["flows"], "bytes": gen_tot["bytes"],
                         "packets": gen_tot["packets_counted"]}, "decoded pcap = gen raw totals")
        L.check_eq(scaled, {"flows": gen_tot["flows"], "bytes": gen_tot["bytes_scaled"],
                            "packets": gen_tot["packets_scaled"]},
                   "decoded pcap = gen scaled totals")
        versions = {}
        for r in records:
            versions.setdefault(r["exporter"], set()).add(r["version"])
        L.check_eq({k: sorted(v) for k, v in versions.items()},
                   {"127.0.1.1": [5], "127.0.1.2": [9], "127.0.1.3": [10], "127.0.1.4": [9],
                    "127.0.1.5": [10]}, "exporters and their versions in the workload")

        key = st.keygen("site-gen")
        st.start_hub()
        udp = L.free_port(L.socket.SOCK_DGRAM)
        edge = st.start_edge(key, udp, os.path.join(st.dir, "spool"))
        for run in RUNS:
            t = gen(run["args"], *common, "--bind", run["bind"], "--send", "127.0.0.1:%d" % udp)
            L.check_eq(t["records"], run["totals"]["records"], "run %s: same workload sent"
                       % run["name"])
        L.wait_for(lambda: st.totals()["flows"] >= raw["flows"], 60, "generated flows at hub")
        L.check_eq(edge.stop(), 0, "edge exit status on SIGTERM")
        bypassed = [int(w.split("=", 1)[1]) for line in open(edge.logpath)
                    for w in line.split() if w.startswith("agg_bypassed=")]
        L.check(bypassed and bypassed[-1] > 0, "edge forwarded records unmerged in sampled "
                "mode (agg_bypassed=%s)" % (bypassed[-1] if bypassed else None))

        L.check_eq(st.totals(), scaled, "summary (scaled)")
        L.check_eq(st.totals("--unscaled"), raw, "summary --unscaled")
        # A sub-range with whole-second bounds in the middle of the window.
        t1, t2 = start_ms // 1000 + 15, start_ms // 1000 + 40
        sub = [r for r in records if t1 * 1000 <= r["last_ms"] < t2 * 1000]
        L.check(0 < len(sub) < len(records), "sub-range holds part of the flows (%d)" % len(sub))
        L.check_eq(st.totals(frm=str(t1), to=str(t2)), L.sums(sub, scaled=True),
                   "summary --from %d --to %d" % (t1, t2))
        for dim, field in (("srcip", "src_addr"), ("dstip", "dst_addr"),
                           ("dstport", "dst_port"), ("proto", "proto"),
                           ("exporter", "exporter")):
            check_rows(L.rows_by_key(st.top(dim)), L.group(records, field),
                       "top --by %s (scaled)" % dim)
            check_rows(L.rows_by_key(st.top(dim, "--unscaled")),
                       L.group(records, field, scaled=False),
                       "top --by %s --unscaled" % dim)
        # Top-N order: the first 10 rows by bytes are the 10 largest expected values.
        top10 = st.top("dstip", n=10)["rows"]
        want10 = sorted((v["bytes"] for v in L.group(records, "dst_addr").values()),
                        reverse=True)[:10]
        L.check_eq([r["bytes"] for r in top10], want10, "top -n 10 --by dstip: ten largest, "
                   "in order")
        for expr, pred in FILTERS:
            sel = [r for r in records if pred(r)]
            L.check(0 < len(sel) < len(records), "filter %r selects part of the flows (%d)"
                    % (expr, len(sel)))
            L.check_eq(st.totals("--filter", expr), L.sums(sel, scaled=True),
                       "summary --filter %r" % expr)
            L.check_eq(st.totals("--filter", expr, "--unscaled"), L.sums(sel),
                       "summary --unscaled --filter %r" % expr)
        exp_rows = st.cli("exporters")["exporters"]
        got = sorted((e["address"], e["version"], e["records"], e["edge"], e["errors"])
                     for e in exp_rows)
        want = sorted((a, sorted(versions[a])[0], sum(1 for r in records if r["exporter"] == a),
                       "site-gen", 0) for a in versions)
        L.check_eq(got, want, "fl0wer exporters: address, version, records, edge, errors")
        e = st.cli("edges")["edges"]
        L.check_eq([(x["name"], x["records_decoded"], x["records_dropped"], x["kernel_drops"],
                     x["rejects"]) for x in e], [("site-gen", raw["flows"], 0, 0, 0)],
                   "fl0wer edges: every record decoded, nothing dropped")
        L.check_eq(st.hub.stop(), 0, "hub exit status on SIGTERM")
    finally:
        st.close()
    L.finish()


if __name__ == "__main__":
    main()
