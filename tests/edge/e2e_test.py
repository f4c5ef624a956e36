#!/usr/bin/env python3
"""End-to-end tests of fl0wer-edge with real processes on 127.0.0.1.

fl0wer-replay sends captures to fl0wer-edge, which batches, spools and delivers them to
fl0wer-test-receiver (a hub stand-in that verifies signatures, de-duplicates by sequence number
like the hub and keeps totals in a JSON file). Expected totals come from fl0wer-test-expect, which
decodes the same files with the decoder library. Every case asserts that the receiver ends with
exactly the expected flow count, bytes and packets, that nothing was rejected, and that no batch
arrived out of order (which the hub's rule would turn into a loss).

usage: e2e_test.py [CASE...]   (needs FL0WER_BINARY_DIR and FL0WER_SOURCE_DIR)
"""
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("FL0WER_BINARY_DIR", "build")
SRC = os.environ.get("FL0WER_SOURCE_DIR", ".")
SHARED = os.environ.get("FL0WER_SHARED_FLOWS", "")
EDGE = os.path.join(BIN, "edge/daemon/fl0wer-edge")
REPLAY = os.path.join(BIN, "tools/fl0wer-replay/fl0wer-replay")
RECEIVER = os.path.join(BIN, "tests/edge/fl0wer-test-receiver")
EXPECT = os.path.join(BIN, "tests/edge/fl0wer-test-expect")
BUNDLED = os.path.join(SRC, "tests/data/captures")

FAILURES = []


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL: " + what, flush=True)
    return cond


class Env:
    """One test's temp dir, key, ports and child processes (all cleaned up)."""

    def __init__(self, name):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="fl0wer-e2e-%s-" % name)
        self.key = os.path.join(self.dir, "edge.key")
        self.state = os.path.join(self.dir, "receiver.json")
        self.spool = os.path.join(self.dir, "spool")
        self.udp = free_port(socket.SOCK_DGRAM)
        self.tcp = free_port(socket.SOCK_STREAM)
        self.procs = []
        subprocess.run([RECEIVER, "--keygen", self.key, "e2e-" + name], check=True)

    def start_receiver(self, *extra):
        log = open(os.path.join(self.dir, "receiver.log"), "a")
        p = subprocess.Popen([RECEIVER, "--url", "tcp://127.0.0.1:%d" % self.tcp, "--key",
                              self.key, "--state", self.state] + list(extra), stderr=log)
        self.procs.append(p)
        wait_for(lambda: os.path.exists(self.state), 10, "receiver state file")
        return p

    def start_edge(self, *extra):
        log = open(os.path.join(self.dir, "edge.log"), "a")
        args = [EDGE, "--listen", "127.0.0.1:%d" % self.udp, "--hub",
                "tcp://127.0.0.1:%d" % self.tcp, "--key", self.key, "--spool", self.spool,
                "--workers", "2", "--bucket", "1", "--bucket-grace", "0", "--batch-age-ms", "200",
                "--ack-timeout-ms", "600", "--stats-interval", "0", "--rcvbuf", "4M"] + list(extra)
        started = self.edge_log().count("listening on udp")
        p = subprocess.Popen(args, stderr=log)
        self.procs.append(p)
        wait_for(lambda: self.edge_log().count("listening on udp") > started or
                 p.poll() is not None, 20, "edge listening")
        check(p.poll() is None, "%s: edge started" % self.name)
        return p

    def edge_log(self):
        try:
            with open(os.path.join(self.dir, "edge.log")) as f:
                return f.read()
        except OSError:
            return ""

    def replay(self, files, *extra):
        out = subprocess.run([REPLAY, "--to", "127.0.0.1:%d" % self.udp, "--pps", "20000"] +
                             list(extra) + files, check=True, capture_output=True, text=True)
        return json.loads(out.stdout)

    def totals(self):
        try:
            with open(self.state) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def spooled(self):
        return sorted(glob.glob(os.path.join(self.spool, "*.flwb")))

    def stop(self, p, sig=signal.SIGTERM, timeout=20):
        if p.poll() is None:
            p.send_signal(sig)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            return p.wait()

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if not FAILURES:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print("kept %s for inspection" % self.dir)
            for log in ("edge.log", "receiver.log"):
                path = os.path.join(self.dir, log)
                if os.path.exists(path):
                    print("---- %s" % path)
                    print(open(path).read()[-3000:])


def wait_for(cond, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.1)
    return check(False, "timed out waiting for " + what)


def expect(files):
    out = subprocess.run([EXPECT] + files, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def final_stats(env):
    """Counters of the edge's last 'final:' log line, as a dict of strings."""
    lines = [l for l in open(os.path.join(env.dir, "edge.log")) if " final: " in l]
    return dict(kv.split("=") for kv in lines[-1].split(" final: ")[1].split()) if lines else {}


def thread_nices(pid):
    """{thread name: nice} of a running process (/proc/PID/task/*/stat field 19)."""
    out = {}
    for t in glob.glob("/proc/%d/task/*" % pid):
        try:
            with open(os.path.join(t, "comm")) as f:
                name = f.read().strip()
            with open(os.path.join(t, "stat")) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[name] = int(fields[16])  # field 19; fields[0] is field 3 (state)
        except (OSError, IndexError, ValueError):
            pass
    return out


def check_totals(env, want, what, exact_records=False):
    got = env.totals()
    for k in ("flows", "bytes", "packets"):
        check(got.get(k) == want[k], "%s: %s %s, expected %s" % (what, k, got.get(k), want[k]))
    if exact_records:
        check(got.get("records") == want["records"],
              "%s: records %s, expected %s" % (what, got.get("records"), want["records"]))
    check(got.get("rejected") == 0, "%s: rejected %s" % (what, got.get("rejected")))
    check(got.get("lost_out_of_order") == 0,
          "%s: out-of-order batches %s" % (what, got.get("lost_out_of_order")))
    return got


def bundled_files():
    files = sorted(glob.glob(os.path.join(BUNDLED, "graylog-plugin-netflow/*.pcap")))
    lc = os.path.join(BUNDLED, "logstash-codec-netflow")
    order = ["netflow5.dat", "netflow5_test_juniper_mx80.dat", "netflow9_test_valid01.dat",
             "netflow9_test_juniper_srx_tplopt.dat", "ipfix.dat", "ipfix_test_netscaler_tpl.dat",
             "ipfix_test_netscaler_data.dat", "ipfix_test_ixia_tpldata256.dat",
             "netflow5_test_invalid01.dat", "netflow9_test_invalid01.dat"]
    files += [os.path.join(lc, f) for f in order if os.path.exists(os.path.join(lc, f))]
    return files


def shared_files():
    """Template/data pairs from the shared logstash captures, in feeding order."""
    if not SHARED or not os.path.isdir(os.path.join(SHARED, "logstash-codec-netflow")):
        return None
    d = os.path.join(SHARED, "logstash-codec-netflow")
    pairs = ["ipfix_test_barracuda_tpl.dat", "ipfix_test_barracuda_data256.dat",
             "ipfix_test_mikrotik_tpl.dat", "ipfix_test_mikrotik_data258.dat",
             "ipfix_test_mikrotik_data259.dat", "ipfix_test_openbsd_pflow_tpl.dat",
             "ipfix_test_openbsd_pflow_data.dat", "ipfix_test_vmware_vds_tpl.dat",
             "ipfix_test_vmware_vds_data264.dat", "ipfix_test_vmware_vds_data266.dat",
             "ipfix_test_nokia_bras_tpl.dat", "ipfix_test_nokia_bras_data256.dat",
             "netflow5_test_juniper_mx80.dat", "netflow5.dat"]
    files = [os.path.join(d, f) for f in pairs if os.path.exists(os.path.join(d, f))]
    files += sorted(glob.glob(os.path.join(SHARED, "graylog-plugin-netflow/*.pcap")))
    return files or None


def case_bundled():
    """Bundled captures through a live edge: every flow arrives once, totals exact."""
    env = Env("bundled")
    try:
        files = bundled_files()
        check(len(files) >= 5, "bundled captures present (%d)" % len(files))
        want = expect(files)
        check(want["records"] > 100, "bundled captures decode to flows (%d)" % want["records"])
        env.start_receiver()
        edge = env.start_edge()
        sent = env.replay(files)
        check(sent["datagrams"] == want["datagrams"], "replay sent every datagram")
        wait_for(lambda: env.totals().get("flows") == want["records"], 20, "bundled flows")
        # The output threads run 5 nice levels below the receive threads (edge_int.h).
        nices = thread_nices(edge.pid)
        for name in ("edge-batcher", "edge-spool", "edge-sender"):
            check(nices.get(name) == nices.get("edge-rx0", 99) + 5,
                  "bundled: %s nice %s = edge-rx0's %s + 5" % (name, nices.get(name),
                                                              nices.get("edge-rx0")))
        check(env.stop(edge) == 0, "bundled: edge exits 0 on SIGTERM")
        got = check_totals(env, want, "bundled")
        check(got["records"] < want["records"], "bundled: aggregation merged some records "
              "(%d records for %d flows)" % (got["records"], want["records"]))
        check(got["duplicates"] == 0, "bundled: no duplicates (%d)" % got["duplicates"])
        check(got["exporter_rows"] > 0, "bundled: batches carried exporter counters")
        check(env.spooled() == [], "bundled: spool empty after acks")
    finally:
        env.close()


def case_shared_no_aggregate():
    """Shared captures with --no-aggregate: exactly the decoded records arrive."""
    files = shared_files()
    if files is None:
        print("SKIPPED: shared_no_aggregate: ../shared/testdata/flows absent")
        return
    env = Env("shared")
    try:
        want = expect(files)
        env.start_receiver()
        edge = env.start_edge("--no-aggregate", "--batch-bytes", "4096")
        env.replay(files)
        wait_for(lambda: env.totals().get("records") == want["records"], 20, "shared records")
        check(env.stop(edge) == 0, "shared: edge exits 0")
        got = check_totals(env, want, "shared --no-aggregate", exact_records=True)
        check(got["batches"] > 1, "shared: several batches (%d)" % got["batches"])
    finally:
        env.close()


def case_hub_down():
    """Receiver down while the edge receives: batches spool, then drain once it is up,
    through timeouts, lost acks and RETRY answers."""
    env = Env("hubdown")
    try:
        files = bundled_files()
        want = expect(files)
        # --inflight 1: the receiver drops single requests, which the real hub never does
        # (its --order-wait would then store a later batch first); see docs/edge.md.
        edge = env.start_edge("--batch-bytes", "2048", "--inflight", "1")
        env.replay(files)
        wait_for(lambda: len(env.spooled()) > 0, 10, "batches in the spool while hub down")
        time.sleep(2.0)
        check(len(env.spooled()) > 0, "hubdown: batches stay spooled")
        env.start_receiver("--no-ack-every", "4", "--store-no-ack-every", "5",
                           "--retry-every", "7")
        wait_for(lambda: env.totals().get("flows") == want["records"] and
                 env.spooled() == [], 40, "hub-down drain")
        check(env.stop(edge) == 0, "hubdown: edge exits 0")
        # Default --spool-sync 1000: batches left unacknowledged for over a second were fsync'ed.
        fs = int(final_stats(env).get("spool_fsyncs", "0"))
        check(fs > 0, "hubdown: batches waiting for the hub were fsync'ed (%d)" % fs)
        got = check_totals(env, want, "hub down then up")
        check(got["duplicates"] >= 1, "hubdown: lost acks produced duplicates that were "
              "de-duplicated (%d)" % got["duplicates"])
    finally:
        env.close()


def case_sigkill(extra=(), name="sigkill"):
    """Edge killed with SIGKILL after spooling, restarted: nothing lost, nothing twice.
    extra: edge flags (e.g. a --spool-sync long enough that nothing is fsync'ed before the
    kills: the page cache survives a process kill)."""
    env = Env(name)
    try:
        files = bundled_files()
        shared = shared_files() or files
        want1, want2 = expect(files), expect(shared)
        edge = env.start_edge(*extra)
        env.replay(files)
        wait_for(lambda: len(env.spooled()) > 0, 10, "spooled batches before the kill")
        time.sleep(2.0)  # buckets (1 s, no grace) flushed into spooled batches
        edge.kill()
        edge.wait()
        n_spooled = len(env.spooled())
        check(n_spooled > 0, "sigkill: spool survives SIGKILL (%d batches)" % n_spooled)
        # Receiver stores some batches without acking, so the restarted edge resends them.
        env.start_receiver("--store-no-ack-every", "2")
        edge = env.start_edge(*extra)
        wait_for(lambda: env.totals().get("flows") == want1["records"], 30, "spool resent")
        # Kill again with the receiver up, mid-stream, then restart and send more.
        env.replay(shared)
        time.sleep(1.5)
        edge.kill()
        edge.wait()
        edge = env.start_edge(*extra)
        total = {k: want1[k] + want2[k] for k in ("records", "flows", "bytes", "packets")}
        ok = wait_for(lambda: env.totals().get("flows", 0) >= total["records"] and
                      env.spooled() == [], 30, "second kill drained")
        check(env.stop(edge) == 0, "sigkill: edge exits 0 on SIGTERM")
        want = {"flows": total["records"], "bytes": total["bytes"], "packets": total["packets"]}
        if ok:
            got = check_totals(env, want, "%s + restart" % name)
            check(got["duplicates"] >= 1,
                  "%s: resent batches were seen as duplicates (%d)" % (name, got["duplicates"]))
        if "--spool-sync" in extra:
            fs = final_stats(env).get("spool_fsyncs")
            check(fs == "0", "%s: no batch was fsync'ed (%s)" % (name, fs))
    finally:
        env.close()


def case_receiver_restart():
    """The hub stand-in killed with SIGKILL and restarted on its state file: the file it left is
    complete (swapped in whole, never half-written), the restarted receiver keeps its
    de-duplication state (the batch it stored but never acked comes again and is a duplicate,
    not counted twice), the totals are exact, and a clean exit leaves no FILE.tmp."""
    env = Env("recvrestart")
    try:
        files = bundled_files()
        want = expect(files)
        # Every request is stored but not acked: the edge (one batch in flight) resends the
        # first batch after --ack-timeout-ms; the receiver is killed once it stored it.
        recv = env.start_receiver("--store-no-ack-every", "1")
        edge = env.start_edge("--no-aggregate", "--batch-bytes", "4096", "--inflight", "1")
        env.replay(files)
        wait_for(lambda: env.totals().get("batches", 0) >= 1, 20, "first batch stored")
        recv.kill()
        recv.wait()
        left = env.totals()
        check(left.get("batches") == 1 and left.get("records", 0) > 0,
              "receiver_restart: complete state after SIGKILL (%s)" % left)
        recv = env.start_receiver()
        wait_for(lambda: env.totals().get("records") == want["records"] and
                 env.spooled() == [], 30, "records after the receiver restart")
        check(env.stop(edge) == 0, "receiver_restart: edge exits 0")
        check(env.stop(recv) == 0, "receiver_restart: receiver exits 0")
        got = check_totals(env, want, "receiver_restart", exact_records=True)
        check(got["duplicates"] > left["duplicates"],
              "receiver_restart: the unacked batch came again as a duplicate (%d, %d before)" %
              (got["duplicates"], left["duplicates"]))
        check(got["batches"] > 1, "receiver_restart: batches after the restart (%d)" % got["batches"])
        check(not os.path.exists(env.state + ".tmp"),
              "receiver_restart: no state .tmp left after a clean exit")
    finally:
        env.close()


def case_tls():
    """tls+tcp:// to the hub with --hub-ca: batches arrive over TLS; a wrong CA gets nothing."""
    if not shutil.which("openssl"):
        print("SKIPPED: tls: openssl absent")
        return
    env = Env("tls")
    try:
        pem, other = os.path.join(env.dir, "server.pem"), os.path.join(env.dir, "other.pem")
        for path in (pem, other):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                            "/CN=127.0.0.1", "-addext", "subjectAltName=DNS:127.0.0.1",
                            "-keyout", path + ".key", "-out", path + ".crt"],
                           check=True, capture_output=True)
            with open(path, "w") as f:
                f.write(open(path + ".crt").read() + open(path + ".key").read())
        files = bundled_files()
        want = expect(files)
        log = open(os.path.join(env.dir, "receiver.log"), "a")
        env.procs.append(subprocess.Popen(
            [RECEIVER, "--url", "tls+tcp://127.0.0.1:%d" % env.tcp, "--key", env.key,
             "--state", env.state, "--tls-cert-key", pem], stderr=log))
        wait_for(lambda: os.path.exists(env.state), 10, "tls receiver")
        # First with the wrong CA: the handshake fails, batches stay spooled.
        edge = env.start_edge("--hub", "tls+tcp://127.0.0.1:%d" % env.tcp,
                              "--hub-ca", other + ".crt")
        env.replay(files)
        time.sleep(2.5)
        check(env.totals().get("batches") == 0, "tls: nothing accepted with a wrong CA")
        check(env.stop(edge) == 0, "tls: edge exits 0")
        check(len(env.spooled()) > 0, "tls: batches kept in the spool")
        edge = env.start_edge("--hub", "tls+tcp://127.0.0.1:%d" % env.tcp, "--hub-ca", pem + ".crt")
        wait_for(lambda: env.totals().get("flows") == want["records"] and env.spooled() == [],
                 20, "tls delivery")
        check(env.stop(edge) == 0, "tls: edge exits 0")
        check_totals(env, want, "tls")
    finally:
        env.close()


def case_rejected():
    """A hub that does not know the edge's key rejects (ack seq 0): the edge deletes the batches
    and counts their records as dropped, and keeps running."""
    env = Env("rejected")
    try:
        other = os.path.join(env.dir, "other.key")
        subprocess.run([RECEIVER, "--keygen", other, "someone-else"], check=True)
        log = open(os.path.join(env.dir, "receiver.log"), "a")
        env.procs.append(subprocess.Popen(
            [RECEIVER, "--url", "tcp://127.0.0.1:%d" % env.tcp, "--key", other, "--state",
             env.state], stderr=log))
        wait_for(lambda: os.path.exists(env.state), 10, "receiver")
        edge = env.start_edge()
        env.replay(bundled_files())
        wait_for(lambda: env.totals().get("rejected", 0) > 0 and env.spooled() == [], 15,
                 "rejected batches deleted")
        check(edge.poll() is None, "rejected: edge keeps running")
        check(env.stop(edge) == 0, "rejected: edge exits 0")
        got = env.totals()
        check(got["batches"] == 0, "rejected: nothing stored")
        final = [l for l in open(os.path.join(env.dir, "edge.log")) if " final: " in l][-1]
        vals = dict(kv.split("=") for kv in final.split(" final: ")[1].split())
        check(vals["rejected"] == vals["batches"] == str(got["rejected"]),
              "rejected: every batch rejected once (%s)" % final.strip())
        check(vals["records_dropped"] == vals["records_sent"] and vals["records_sent"] != "0",
              "rejected: every record counted as dropped (%s)" % final.strip())
        check(sum(1 for l in open(os.path.join(env.dir, "edge.log")) if "rejected batch" in l)
              == 1, "rejected: logged once")
    finally:
        env.close()


def case_config_errors():
    """Bad settings: one-line error and exit 2 before anything starts."""
    env = Env("config")
    try:
        cases = [
            (["--bucket", "abc"], "bad --bucket value 'abc'"),
            (["--listen", "1.2.3.4:99999"], "bad --listen address"),
            (["--key", os.path.join(env.dir, "missing.key"), "--spool", env.spool],
             "cannot load edge key"),
            (["--hub", "udp://x:1"], "bad --hub value"),
            (["--key", env.key, "--spool", env.spool, "--hub", "tls+tcp://127.0.0.1:1",
              "--hub-ca", os.path.join(env.dir, "missing-ca.pem")], "cannot read hub CA file"),
        ]
        for args, msg in cases:
            r = subprocess.run([EDGE] + args, capture_output=True, text=True, timeout=20)
            check(r.returncode == 2, "config %s: exit %d" % (args, r.returncode))
            check(msg in r.stderr and len(r.stderr.strip().splitlines()) == 1,
                  "config %s: one-line message with '%s', got %r" % (args, msg, r.stderr))
        check(not os.path.exists(env.spool), "config: nothing created on a bad key or CA")
        r = subprocess.run([EDGE, "--help"], capture_output=True, text=True)
        check(r.returncode == 0 and "FL0WER_SPOOL_MAX" in r.stdout, "--help lists env names")
    finally:
        env.close()


CASES = {"config": case_config_errors, "bundled": case_bundled,
         "shared": case_shared_no_aggregate, "hubdown": case_hub_down, "sigkill": case_sigkill,
         "sigkill_nosync": lambda: case_sigkill(("--spool-sync", "600000"), "sigkill_nosync"),
         "tls": case_tls, "rejected": case_rejected,
         "receiver_restart": case_receiver_restart}

if __name__ == "__main__":
    names = sys.argv[1:] or list(CASES)
    for n in names:
        t = time.time()
        print("== %s" % n, flush=True)
        CASES[n]()
        print("== %s done in %.1f s" % (n, time.time() - t), flush=True)
    if FAILURES:
        print("%d failure(s)" % len(FAILURES))
        sys.exit(1)
    print("all passed")
