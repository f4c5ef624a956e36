#!/usr/bin/env python3
"""e2e_edges: two authorized edges at once into one hub, plus an edge whose key the hub does
not know.

site-a and site-b (own keys, own UDP ports, own spools) each receive their own fl0wer-gen
workload at the same time; site-rogue (a valid key that is NOT in the authorized edges file)
receives a third one. Asserted:
  - totals (summary, scaled and unscaled) equal exactly the two good edges' input; top by
    exporter lists only their exporters; a filter on the rogue exporter finds nothing;
  - `fl0wer edges`: site-a and site-b with exactly their records decoded, no rejects; the
    rogue's batches are counted as rejects under `unknown`;
  - /metrics: ingest rejected batches = the rogue's batches (its final log line), per-edge
    rejects, and no stored batch of the rogue;
  - the rogue edge counts its records as dropped, deletes its rejected batches, keeps running.
"""
import os
import re
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib as L  # noqa: E402

WORK = {
    "site-a": (["--seed", "21", "--flows", "6000", "--exporters", "2", "--versions", "9,10",
                "--ipv6-share", "0.2"], "127.0.4.1,127.0.4.2"),
    "site-b": (["--seed", "22", "--flows", "5000", "--exporters", "2", "--versions", "5,10",
                "--sampling", "10"], "127.0.4.3,127.0.4.4"),
    "site-rogue": (["--seed", "23", "--flows", "3000", "--exporters", "1", "--versions", "9"],
                   "127.0.4.5"),
}


def main():
    st = L.Stack("edges")
    try:
        start_ms = (int(L.time.time()) - 120) * 1000
        common = ["--start", str(start_ms), "--window", "60000"]
        recs = {}
        for name, (args, bind) in WORK.items():
            recs[name] = L.gen_records(st.dir, name, args + common + ["--bind", bind])
        keys = {n: st.keygen(n, authorize=(n != "site-rogue")) for n in WORK}
        st.start_hub()
        edges, ports = {}, {}
        for n in WORK:
            ports[n] = L.free_port(L.socket.SOCK_DGRAM)
            edges[n] = st.start_edge(keys[n], ports[n], os.path.join(st.dir, "spool-" + n),
                                     logname=n)
        threads = []
        for n, (args, bind) in WORK.items():
            t = threading.Thread(target=L.gen, args=(args + common + [
                "--bind", bind, "--pps", "3000", "--send", "127.0.0.1:%d" % ports[n]],))
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
        good = recs["site-a"] + recs["site-b"]
        want_raw, want_scaled = L.sums(good), L.sums(good, scaled=True)
        L.wait_for(lambda: st.totals()["flows"] >= want_raw["flows"], 60, "good edges' flows")
        L.wait_for(lambda: any(e["name"] == "unknown" and e["rejects"] > 0
                               for e in st.cli("edges")["edges"]), 30, "rogue batches rejected")
        # The rogue's batches are answered REJECTED, so it must delete them (docs/protocol.md:
        # "logs it, counts its records as dropped, deletes it, never resends").
        # (The hub answers REJECTED with seq 0 since it rejects before reading the payload; an
        # edge that insisted on its own seq there kept and resent such batches forever.)
        L.wait_for(lambda: L.spooled(os.path.join(st.dir, "spool-site-rogue")) == [], 15,
                   "rogue edge deletes its rejected batches")
        L.check(edges["site-rogue"].alive(), "rogue edge keeps running after rejections")
        rc = {n: edges[n].stop() for n in WORK}
        L.check_eq(rc, {n: 0 for n in WORK}, "edges exit 0 on SIGTERM")

        L.check_eq(st.totals(), want_scaled, "summary = the two authorized edges' input")
        L.check_eq(st.totals("--unscaled"), want_raw, "summary --unscaled = authorized input")
        L.check_eq(L.rows_by_key(st.top("exporter")), L.group(good, "exporter"),
                   "top --by exporter: only the authorized edges' exporters, exact")
        L.check_eq(st.totals("--filter", "exporter 127.0.4.5"),
                   {"flows": 0, "bytes": 0, "packets": 0}, "nothing of the rogue stored")

        rows = {e["name"]: e for e in st.cli("edges")["edges"]}
        for n in ("site-a", "site-b"):
            e = rows.get(n, {})
            L.check_eq((e.get("records_decoded"), e.get("records_dropped"), e.get("rejects")),
                       (len(recs[n]), 0, 0), "fl0wer edges %s: records decoded, dropped, "
                       "rejects" % n)
        L.check("site-rogue" not in rows, "the rogue's own name never reaches the edge list")
        # The rogue's final counters: every batch it sent was rejected.
        final = open(edges["site-rogue"].logpath).read()
        m = re.search(r"final: .*records_decoded=(\d+) .*records_dropped=(\d+) batches=(\d+) "
                      r"acked=(\d+) rejected=(\d+)", final)
        if L.check(m is not None, "rogue edge logs its final counters"):
            dec, dropped, batches, acked, rejected = map(int, m.groups())
            L.check_eq((dec, dropped), (len(recs["site-rogue"]), len(recs["site-rogue"])),
                       "rogue: every decoded record counted as dropped")
            L.check(rejected > 0 and rejected == batches and acked == 0,
                    "rogue: all %d batches rejected (rejected=%d acked=%d)"
                    % (batches, rejected, acked))
            # Each batch was sent once and rejected once: the hub counted exactly those.
            L.check_eq(rows.get("unknown", {}).get("rejects"), rejected,
                       "fl0wer edges: rejects under 'unknown' = the rogue's rejected batches")
        # The same count in the edge list and /metrics, all under 'unknown'.
        unknown = rows.get("unknown", {}).get("rejects", 0)
        L.check(unknown > 0, "fl0wer edges: rejects counted under 'unknown' (%d)" % unknown)
        met = st.metrics()
        L.check_eq(met.get('fl0wer_ingest_batches_total{result="rejected"}'), float(unknown),
                   "/metrics ingest rejected batches = fl0wer edges 'unknown' rejects")
        L.check_eq(met.get('fl0wer_edge_rejects_total{edge="unknown"}'), float(unknown),
                   "/metrics fl0wer_edge_rejects_total{edge=\"unknown\"}")
        L.check_eq(met.get('fl0wer_edge_rejects_total{edge="site-a"}'), 0.0,
                   "/metrics site-a rejects")
        L.check_eq(met.get('fl0wer_edge_records_total{edge="site-rogue"}'), None,
                   "/metrics: no series for the rogue's name")
        L.check_eq(st.hub.stop(), 0, "hub exit status on SIGTERM")
    finally:
        st.close()
    L.finish()


if __name__ == "__main__":
    main()
