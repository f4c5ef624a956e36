"""Shared harness of the end-to-end tests: real fl0wer-hub and fl0wer-edge processes on
127.0.0.1, fed with fl0wer-replay / fl0wer-gen over UDP and queried with the real `fl0wer` CLI
over HTTPS (self-signed certificate pinned by its SHA-256 fingerprint, token from a tokens file).

Every process is started in its own process group and killed (group-wide) when the test ends;
the temp dir is removed unless something failed (then its logs are printed and it is kept).
Expected values never come from the hub: they come from fl0wer-decode (the decoder run offline
on the same files) or from fl0wer-gen's pcap output decoded by fl0wer-decode.
"""
import base64
import glob
import hashlib
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("FL0WER_BINARY_DIR", "build")
SRC = os.environ.get("FL0WER_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))
SHARED = os.environ.get("FL0WER_SHARED_FLOWS", "")
HUB = os.path.join(BIN, "hub/daemon/fl0wer-hub")
EDGE = os.path.join(BIN, "edge/daemon/fl0wer-edge")
CLI = os.path.join(BIN, "tools/fl0wer/fl0wer")
DECODE = os.path.join(BIN, "tools/fl0wer-decode/fl0wer-decode")
REPLAY = os.path.join(BIN, "tools/fl0wer-replay/fl0wer-replay")
GEN = os.path.join(BIN, "tools/fl0wer-gen/fl0wer-gen")
BUNDLED = os.path.join(SRC, "tests/data/captures")

# A range that covers every flow time in the captures (1970 .. 2100), in unix seconds.
ALL_FROM, ALL_TO = "1", "4102444800"

FAILURES = []
START = time.time()


def log(msg):
    print("[%6.1f] %s" % (time.time() - START, msg), flush=True)


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        log("FAIL: " + what)
    return cond


def check_eq(got, want, what):
    return check(got == want, "%s: got %r, expected %r" % (what, got, want))


def wait_for(cond, timeout, what, interval=0.2):
    end = time.time() + timeout
    while True:
        try:
            if cond():
                return True
        except Exception as e:  # a query may fail while a process restarts
            last = e
        if time.time() >= end:
            return check(False, "timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def fingerprint_of(pem_path):
    """SHA-256 of the DER certificate, AB:CD:... (computed here, independent of the hub)."""
    with open(pem_path) as f:
        text = f.read()
    body = text.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    d = hashlib.sha256(base64.b64decode("".join(body.split()))).hexdigest().upper()
    return ":".join(d[i:i + 2] for i in range(0, len(d), 2))


def dump_stuck(pid, name):
    """Prints where every thread of a process that did not exit is stuck, before it is killed:
    gdb's `thread apply all bt` when gdb is installed, else each thread's state from /proc."""
    log("%s (pid %d) did not exit; its threads:" % (name, pid))
    if shutil.which("gdb"):
        try:
            out = subprocess.run(["gdb", "-nx", "-batch", "-p", str(pid),
                                  "-ex", "set pagination off", "-ex", "info threads",
                                  "-ex", "thread apply all bt"],
                                 stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                 timeout=60)
            print(out.stdout, flush=True)
        except (OSError, subprocess.TimeoutExpired) as e:
            log("gdb failed: %s" % e)
    else:
        log("(gdb not installed: thread states from /proc only)")
    for task in sorted(glob.glob("/proc/%d/task/*" % pid)):
        try:
            with open(task + "/comm") as f:
                comm = f.read().strip()
            with open(task + "/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            with open(task + "/wchan") as f:
                wchan = f.read().strip()
        except OSError:
            continue
        print("%s %s state=%s wchan=%s" % (os.path.basename(task), comm, state, wchan),
              flush=True)


class Proc:
    """A daemon in its own process group with its log file."""

    def __init__(self, args, logpath, env=None):
        self.args = args
        self.logpath = logpath
        self.logf = open(logpath, "a")
        self.p = subprocess.Popen(args, stdout=self.logf, stderr=subprocess.STDOUT,
                                  start_new_session=True, env=env)

    def alive(self):
        return self.p.poll() is None

    def send(self, sig):
        if self.alive():
            try:
                os.killpg(self.p.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Signals the group and waits; SIGKILL after timeout. Returns the exit status."""
        self.send(sig)
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            check(False, "%s did not exit %ss after signal %d" % (self.args[0], timeout, sig))
            dump_stuck(self.p.pid, self.args[0])
            self.send(signal.SIGKILL)
            rc = self.p.wait()
        self.logf.close()
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)


class Stack:
    """One test's world: temp dir, tokens, edge keys, a hub, edges, CLI helpers."""

    def __init__(self, name):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="fl0wer-e2e-%s-" % name)
        self.procs = []
        self.hub = None
        self.hub_port = free_port()
        self.api_port = free_port()
        self.data = os.path.join(self.dir, "hub-data")
        self.auth = os.path.join(self.dir, "authorized_edges")
        self.tokens = os.path.join(self.dir, "api-tokens")
        self.token = secrets.token_hex(24)
        with open(self.tokens, "w") as f:
            f.write("# name role token\ne2e admin %s\n" % self.token)
        open(self.auth, "w").close()
        self.fingerprint = None

    # ---- keys
    def keygen(self, name, authorize=True):
        path = os.path.join(self.dir, name + ".key")
        out = subprocess.run([CLI, "keygen", "--out", path, "--name", name],
                             capture_output=True, text=True, timeout=30)
        check_eq(out.returncode, 0, "fl0wer keygen %s exit status" % name)
        line = out.stdout.strip().splitlines()[-1]
        check(line.startswith("ed25519 ") and line.endswith(" " + name),
              "keygen prints the authorized-edges line (%r)" % line)
        if authorize:
            with open(self.auth, "a") as f:
                f.write(line + "\n")
        return path

    # ---- hub
    def start_hub(self, *extra):
        ready = os.path.join(self.dir, "hub.ready")
        if os.path.exists(ready):
            os.unlink(ready)
        args = [HUB, "--listen", "tcp://127.0.0.1:%d" % self.hub_port, "--data", self.data,
                "--authorized-edges", self.auth, "--api", "127.0.0.1:%d" % self.api_port,
                "--api-tokens", self.tokens, "--ready-file", ready,
                "--retention", "36500d", "--rollup-retention", "36500d",
                "--gc-interval", "1h", "--workers", "2", "--contexts", "8"] + list(extra)
        self.hub = Proc(args, os.path.join(self.dir, "hub.log"))
        self.procs.append(self.hub)

        def ready_ok():
            if not self.hub.alive():
                raise RuntimeError("hub exited")
            return os.path.exists(ready) and "api " in open(ready).read()
        if not wait_for(ready_ok, 60, "hub ready file"):
            self.dump_logs()
            raise RuntimeError("hub did not start")
        cert = os.path.join(self.data, "api-cert.pem")
        fp = fingerprint_of(cert)
        if self.fingerprint is not None:
            check_eq(fp, self.fingerprint, "hub keeps its self-signed certificate across restarts")
        self.fingerprint = fp
        check(fp in open(self.hub.logpath).read(), "hub log names the certificate fingerprint")
        return self.hub

    # ---- edge
    def start_edge(self, key, udp_port, spool, *extra, logname="edge"):
        args = [EDGE, "--listen", "127.0.0.1:%d" % udp_port,
                "--hub", "tcp://127.0.0.1:%d" % self.hub_port, "--key", key, "--spool", spool,
                "--workers", "2", "--bucket", "1", "--bucket-grace", "0", "--batch-age-ms", "200",
                "--ack-timeout-ms", "2000", "--stats-interval", "0", "--rcvbuf", "4M",
                "--shutdown-wait-ms", "10000"] + list(extra)
        p = Proc(args, os.path.join(self.dir, logname + ".log"))
        self.procs.append(p)
        # The edge has no ready file: wait until its UDP port is bound.
        wait_for(lambda: udp_bound(udp_port) or not p.alive(), 20, "edge UDP port bound")
        check(p.alive(), "%s started" % logname)
        return p

    # ---- CLI
    def cli(self, cmd, *args, fmt="json", expect_rc=0):
        argv = [CLI, cmd, "--server", "https://127.0.0.1:%d" % self.api_port,
                "--token", self.token, "--fingerprint", self.fingerprint] + list(args)
        if fmt:
            argv += ["--format", fmt]
        env = dict(os.environ)
        for k in ("FL0WER_SERVER", "FL0WER_TOKEN", "FL0WER_FINGERPRINT", "FL0WER_CACERT"):
            env.pop(k, None)
        env["FL0WER_CONFIG"] = os.path.join(self.dir, "cli-config")  # empty: flags only
        if not os.path.exists(env["FL0WER_CONFIG"]):
            open(env["FL0WER_CONFIG"], "w").close()
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
        if out.returncode != expect_rc:
            check(False, "fl0wer %s %s: exit %d: %s" % (cmd, " ".join(args), out.returncode,
                                                         out.stderr.strip()[-500:]))
            return None
        return json.loads(out.stdout) if fmt == "json" else out.stdout

    def summary(self, *args, frm=ALL_FROM, to=ALL_TO):
        return self.cli("summary", "--from", frm, "--to", to, *args)

    def top(self, by, *args, n=10000, frm=ALL_FROM, to=ALL_TO):
        return self.cli("top", "--by", by, "-n", str(n), "--from", frm, "--to", to, *args)

    def totals(self, *args, **kw):
        s = self.summary(*args, **kw)
        return None if s is None else {k: s[k] for k in ("flows", "bytes", "packets")}

    def metrics(self):
        """GET /metrics over HTTPS, the certificate pinned by hand (python's ssl has no pinning:
        the handshake is unverified, then the peer's DER certificate must hash to the
        fingerprint before the token is sent). Returns {'name{labels}': value}."""
        import http.client
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", self.api_port, context=ctx, timeout=30)
        conn.connect()
        der = conn.sock.getpeercert(binary_form=True)
        d = hashlib.sha256(der).hexdigest().upper()
        if ":".join(d[i:i + 2] for i in range(0, len(d), 2)) != self.fingerprint:
            raise RuntimeError("/metrics: certificate does not match the pinned fingerprint")
        conn.request("GET", "/metrics", headers={"Authorization": "Bearer " + self.token})
        r = conn.getresponse()
        body = r.read().decode()
        conn.close()
        if r.status != 200:
            raise RuntimeError("/metrics: HTTP %d" % r.status)
        out = {}
        for line in body.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def close(self):
        for p in self.procs:
            if p.alive():
                p.kill()
        if FAILURES:
            self.dump_logs()
            log("kept %s for inspection" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def dump_logs(self):
        for path in sorted(glob.glob(os.path.join(self.dir, "*.log"))):
            with open(path, errors="replace") as f:
                text = f.read()
            print("---- %s (last 3000 chars)\n%s" % (path, text[-3000:]), flush=True)


def spooled(spool):
    """Batch files waiting in an edge's spool."""
    return sorted(glob.glob(os.path.join(spool, "*.flwb")))


def udp_bound(port):
    """True when something on 127.0.0.1 holds UDP port `port` (from /proc/net/udp)."""
    hexport = ":%04X" % port
    for path in ("/proc/net/udp",):
        with open(path) as f:
            for line in f.readlines()[1:]:
                local = line.split()[1]
                if local.endswith(hexport):
                    return True
    return False


# ---- expected values, computed offline by fl0wer-decode

def decode_summary(files):
    out = subprocess.run([DECODE, "--summary"] + files, capture_output=True, text=True,
                         timeout=120, check=True)
    return json.loads(out.stdout)


def decode_records(files):
    out = subprocess.run([DECODE] + files, capture_output=True, text=True, timeout=120,
                         check=True)
    return [json.loads(l) for l in out.stdout.splitlines() if l.strip()]


def gen(args, *extra, timeout=120):
    """Runs fl0wer-gen, returns its printed totals."""
    out = subprocess.run([GEN] + list(args) + list(extra), capture_output=True, text=True,
                         timeout=timeout, check=True)
    return json.loads(out.stdout)


def gen_records(dirpath, name, args):
    """fl0wer-gen's pcap for `args`, decoded offline: the records a lossless collector keeps."""
    pcap = os.path.join(dirpath, name + ".pcap")
    t = gen(args, "--pcap", pcap)
    recs = decode_records([pcap])
    check_eq(len(recs), t["records"], "%s: pcap decodes to fl0wer-gen's record count" % name)
    return recs


def sums(records, scaled=False):
    t = {"flows": 0, "bytes": 0, "packets": 0}
    for r in records:
        k = (r["sampling"] or 1) if scaled else 1
        t["flows"] += r["flows"]
        t["bytes"] += r["bytes"] * k
        t["packets"] += r["packets"] * k
    return t


def add(a, b):
    return {k: a[k] + b[k] for k in ("flows", "bytes", "packets")}


def canon_addr(a):
    """The hub prints IPv4 as a.b.c.d and IPv6 compressed: normalise both sides the same way."""
    ip = ipaddress.ip_address(a)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return str(ip)


def group(records, field, scaled=True):
    """Expected top-N rows: {key: {flows, bytes, packets}} by a decoded-record field."""
    out = {}
    for r in records:
        v = r[field]
        key = canon_addr(v) if isinstance(v, str) else str(v)
        row = out.setdefault(key, {"flows": 0, "bytes": 0, "packets": 0})
        k = (r["sampling"] or 1) if scaled else 1
        row["flows"] += r["flows"]
        row["bytes"] += r["bytes"] * k
        row["packets"] += r["packets"] * k
    return out


def rows_by_key(top):
    out = {}
    for row in top["rows"]:
        key = row["key"]
        try:
            key = canon_addr(key)
        except ValueError:
            pass
        out[key] = {"flows": row["flows"], "bytes": row["bytes"], "packets": row["packets"]}
    return out


def finish():
    if FAILURES:
        log("%d failure(s):" % len(FAILURES))
        for f in FAILURES:
            print("  - " + f)
        sys.exit(1)
    log("all passed")
    sys.exit(0)
