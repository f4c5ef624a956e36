#!/usr/bin/env python3
"""e2e_captures: every capture case (tests/captures/expected-bundled.tsv, and
expected-shared.tsv when ../shared/testdata/flows is present) replayed over UDP through one
fl0wer-edge into one fl0wer-hub, then queried with the `fl0wer` CLI over HTTPS.

Each case (its files in the TSV's order: templates before data) is sent by its own
fl0wer-replay run from its own source address 127.0.0.N, so each case is one exporter address
at the hub. Asserted exactly, against fl0wer-decode run offline on the same files:
  - per case: `fl0wer top --by exporter --unscaled` row == `fl0wer-decode --summary`
    (flows = records, bytes, packets), and the scaled row == the NDJSON records' counters
    multiplied by their sampling interval;
  - in total: `fl0wer summary` scaled and `--unscaled`;
  - `fl0wer top --by proto` and `--by dstport` (all rows) == the NDJSON records grouped;
  - the edge decoded and sent every record and the hub stored them once (`fl0wer edges`).
"""
import csv
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib as L  # noqa: E402


def load_cases(tsv, root):
    cases = []
    with open(tsv) as f:
        rows = [l for l in f if not l.startswith("#")]
    for row in csv.DictReader(rows, delimiter="\t"):
        if row["status"] not in ("ok", "gap"):
            continue  # sFlow and the like: not NetFlow/IPFIX
        files = [os.path.join(root, p) for p in row["files"].split(",")]
        ports = [p for p in row["ports"].split(",") if p]
        cases.append({"name": row["case"], "files": files, "ports": ports})
    return cases


def port_args(case):
    out = []
    for p in case["ports"]:
        out += ["--port", p]
    return out


def main():
    src = L.SRC
    cases = load_cases(os.path.join(src, "tests/captures/expected-bundled.tsv"), L.BUNDLED)
    n_bundled = len(cases)
    if L.SHARED and os.path.isfile(os.path.join(L.SHARED, "INDEX.md")):
        cases += load_cases(os.path.join(src, "tests/captures/expected-shared.tsv"), L.SHARED)
    else:
        print("SKIPPED: shared captures: ../shared/testdata/flows absent "
              "(FL0WER_SHARED_FLOWS=%r); only the %d bundled cases run" % (L.SHARED, n_bundled),
              flush=True)
    L.check(n_bundled >= 10, "bundled cases found (%d)" % n_bundled)
    L.check(len(cases) <= 250, "at most 250 cases fit 127.0.0.2-127.0.0.251 (%d)" % len(cases))
    L.log("%d cases (%d bundled)" % (len(cases), n_bundled))

    # Expected values, offline (a few fl0wer-decode processes at a time).
    def expected(c):
        c["want"] = L.decode_summary(port_args(c) + c["files"])
        c["records"] = L.decode_records(port_args(c) + c["files"])
    for i, c in enumerate(cases):
        c["addr"] = "127.0.0.%d" % (i + 2)
    # (computed while the replays run: they only read the files)
    pool = ThreadPoolExecutor(3)
    jobs = [pool.submit(expected, c) for c in cases]

    st = L.Stack("captures")
    try:
        key = st.keygen("site-captures")
        st.start_hub()
        udp = L.free_port(L.socket.SOCK_DGRAM)
        edge = st.start_edge(key, udp, os.path.join(st.dir, "spool"))
        datagrams = 0
        for c in cases:
            out = subprocess.run([L.REPLAY, "--to", "127.0.0.1:%d" % udp, "--pps", "20000",
                                  "--from-addrs", c["addr"]] + port_args(c) + c["files"],
                                 capture_output=True, text=True, timeout=60)
            if not L.check_eq(out.returncode, 0, "%s: fl0wer-replay exit (%s)"
                              % (c["name"], out.stderr.strip())):
                continue
            sent = L.json.loads(out.stdout)
            L.check_eq(sent["send_errors"], 0, "%s: replay send errors" % c["name"])
            datagrams += sent["datagrams"]
        L.log("replayed %d datagrams" % datagrams)
        for j in jobs:
            j.result()
        pool.shutdown()
        total_records = 0
        all_records = []
        for c in cases:
            L.check_eq(len(c["records"]), c["want"]["records"], "%s: NDJSON lines = --summary "
                       "records" % c["name"])
            c["scaled"] = L.sums(c["records"], scaled=True)
            total_records += c["want"]["records"]
            all_records += c["records"]
        L.log("expected values computed")
        L.check(total_records > 100, "the captures decode to flows (%d)" % total_records)

        L.wait_for(lambda: st.totals()["flows"] >= total_records, 60, "all flows at the hub")
        # A clean edge stop flushes every bucket and waits for the acks: after it, nothing is
        # in flight and the hub's answers are final.
        L.check_eq(edge.stop(), 0, "edge exit status on SIGTERM")
        L.check_eq(L.spooled(os.path.join(st.dir, "spool")), [],
                   "edge spool empty after a clean stop")

        raw = L.rows_by_key(st.top("exporter", "--unscaled"))
        scaled = L.rows_by_key(st.top("exporter"))
        for c in cases:
            w = c["want"]
            want_raw = {"flows": w["records"], "bytes": w["bytes"], "packets": w["packets"]}
            if w["records"] == 0:
                L.check(c["addr"] not in raw, "%s: no flows, no exporter row" % c["name"])
                continue
            L.check_eq(raw.get(c["addr"]), want_raw, "%s (%s): unscaled exporter row"
                       % (c["name"], c["addr"]))
            L.check_eq(scaled.get(c["addr"]), c["scaled"], "%s (%s): scaled exporter row"
                       % (c["name"], c["addr"]))
        L.check_eq(sorted(raw), sorted(c["addr"] for c in cases if c["want"]["records"]),
                   "exporter rows are exactly the cases with flows")

        want_raw = L.sums(all_records)
        L.check_eq(st.totals("--unscaled"), want_raw, "summary --unscaled over every case")
        L.check_eq(st.totals(), L.sums(all_records, scaled=True), "summary (scaled)")
        for dim, field in (("proto", "proto"), ("dstport", "dst_port")):
            L.check_eq(L.rows_by_key(st.top(dim)), L.group(all_records, field),
                       "top --by %s, every row" % dim)
        edges = st.cli("edges")["edges"]
        L.check_eq([(e["name"], e["records_decoded"], e["records_dropped"], e["rejects"])
                    for e in edges], [("site-captures", total_records, 0, 0)],
                   "fl0wer edges: one edge, every record decoded, none dropped or rejected")
        L.check_eq(st.hub.stop(), 0, "hub exit status on SIGTERM")
    finally:
        st.close()
    L.finish()


if __name__ == "__main__":
    main()
