#!/usr/bin/env python3
"""e2e_quickstart: scripts/quickstart.sh end to end, in a temp state folder with free ports
(FL0WER_SKIP_INSTALL=1, FL0WER_BUILD_DIR = this build, so nothing is installed or rebuilt).

  1. `quickstart.sh --demo`: creates key, authorized edges, token; starts hub and edge; replays
     the bundled captures and a fl0wer-gen workload. Using the printed `export FL0WER_*` lines,
     `fl0wer summary` over all time equals exactly fl0wer-decode on the same capture files
     plus the decoded pcap of the same fl0wer-gen workload; over the default range (last hour)
     exactly the generated workload. The printed fingerprint is the certificate's.
  2. a second run (no --demo) reuses the key, the token and the data and starts no second
     hub or edge (same pids), and the totals are unchanged.
  3. `--stop` stops both processes (pids gone, pid files removed, --status says so).
"""
import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib as L  # noqa: E402

QS = os.path.join(L.SRC, "scripts/quickstart.sh")
GEN_ARGS = ["--seed", "1", "--flows", "5000", "--exporters", "3", "--versions", "5,9,10",
            "--ipv6-share", "0.2"]


def bundled_files():
    caps = L.BUNDLED
    lc = os.path.join(caps, "logstash-codec-netflow")
    files = sorted(os.path.join(caps, "graylog-plugin-netflow", f)
                   for f in os.listdir(os.path.join(caps, "graylog-plugin-netflow"))
                   if f.endswith(".pcap"))
    return files + [os.path.join(lc, f) for f in (
        "netflow5.dat", "netflow5_test_juniper_mx80.dat", "netflow9_test_valid01.dat",
        "netflow9_test_juniper_srx_tplopt.dat", "ipfix.dat", "ipfix_test_netscaler_tpl.dat",
        "ipfix_test_netscaler_data.dat", "ipfix_test_ixia_tpldata256.dat")]


def pid_running(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def main():
    st = L.Stack("quickstart")  # only for its temp dir, ports and helpers; no daemons of its own
    state = os.path.join(st.dir, "state")
    udp = L.free_port(L.socket.SOCK_DGRAM)
    env = dict(os.environ, FL0WER_SKIP_INSTALL="1", FL0WER_BUILD_DIR=L.BIN)
    for k in list(env):
        if k.startswith("FL0WER_QS_"):
            del env[k]
    args = [QS, "--state", state, "--udp", "127.0.0.1:%d" % udp, "--hub-port",
            str(st.hub_port), "--api-port", str(st.api_port)]

    def run(*extra, timeout=150):
        r = subprocess.run(args + list(extra), capture_output=True, text=True, env=env,
                           timeout=timeout)
        L.log("quickstart %s: exit %d" % (" ".join(extra), r.returncode))
        if r.returncode != 0:
            print(r.stdout[-3000:], r.stderr[-3000:], flush=True)
        return r

    def pids():
        out = {}
        for n in ("hub", "edge"):
            try:
                out[n] = int(open(os.path.join(state, n + ".pid")).read())
            except (OSError, ValueError):
                out[n] = None
        return out

    try:
        # Expected values, offline.
        files = bundled_files()
        cap = L.decode_records(files)
        gen = L.gen_records(st.dir, "demo", GEN_ARGS)
        L.check(len(cap) > 100 and len(gen) == 5000, "expected records (%d + %d)"
                % (len(cap), len(gen)))

        r = run("--demo")
        L.check_eq(r.returncode, 0, "quickstart --demo exit status")
        exports = dict(re.findall(r"export (FL0WER_\w+)=(\S+)", r.stdout))
        L.check_eq(sorted(exports), ["FL0WER_FINGERPRINT", "FL0WER_SERVER", "FL0WER_TOKEN"],
                   "printed export lines")
        L.check("UDP port %d" % udp in r.stdout and "--stop" in r.stdout,
                "prints where to send flows and how to stop")
        st.fingerprint = L.fingerprint_of(os.path.join(state, "hub-data/api-cert.pem"))
        L.check_eq(exports.get("FL0WER_FINGERPRINT"), st.fingerprint,
                   "printed fingerprint = the hub certificate's")
        L.check_eq(exports.get("FL0WER_SERVER"), "https://127.0.0.1:%d" % st.api_port,
                   "printed server")
        st.token = exports.get("FL0WER_TOKEN", "")
        key1 = open(os.path.join(state, "edge.key")).read()
        tokens1 = open(os.path.join(state, "api-tokens")).read()
        L.check(st.token in tokens1, "printed token is in the tokens file")
        L.check_eq(oct(os.stat(os.path.join(state, "edge.key")).st_mode & 0o777), "0o600",
                   "edge key mode")
        p1 = pids()
        L.check(all(p and pid_running(p) for p in p1.values()), "hub and edge running %r" % p1)

        # The CLI exactly as the user would run it after the printed exports.
        cli_env = dict(os.environ, **exports)
        cli_env["FL0WER_CONFIG"] = os.path.join(st.dir, "empty-config")
        open(cli_env["FL0WER_CONFIG"], "w").close()

        def summary(*a):
            out = subprocess.run([L.CLI, "summary", "--format", "json"] + list(a),
                                 capture_output=True, text=True, env=cli_env, timeout=60)
            if not L.check_eq(out.returncode, 0, "fl0wer summary %s (%s)"
                              % (" ".join(a), out.stderr.strip())):
                return None
            s = L.json.loads(out.stdout)
            return {k: s[k] for k in ("flows", "bytes", "packets")}

        want_all = L.add(L.sums(cap, scaled=True), L.sums(gen, scaled=True))
        L.wait_for(lambda: summary("--from", L.ALL_FROM, "--to", L.ALL_TO) == want_all, 20,
                   "demo flows at the hub")
        L.check_eq(summary("--from", L.ALL_FROM, "--to", L.ALL_TO), want_all,
                   "fl0wer summary after --demo: bundled captures + generated workload")
        L.check_eq(summary(), L.sums(gen, scaled=True),
                   "fl0wer summary (last hour) after --demo: the generated workload")

        # Second run: same key, token, data and processes.
        r = run()
        L.check_eq(r.returncode, 0, "second quickstart run exit status")
        L.check_eq(open(os.path.join(state, "edge.key")).read(), key1, "second run: same key")
        L.check_eq(open(os.path.join(state, "api-tokens")).read(), tokens1,
                   "second run: same tokens file")
        L.check("FL0WER_TOKEN=%s" % st.token in r.stdout, "second run prints the same token")
        L.check_eq(pids(), p1, "second run: no second hub or edge")
        L.check("already running" in r.stdout, "second run says the daemons already run")
        L.check_eq(summary("--from", L.ALL_FROM, "--to", L.ALL_TO), want_all,
                   "second run: data kept")

        r = run("--stop", timeout=90)
        L.check_eq(r.returncode, 0, "quickstart --stop exit status")
        L.check(not any(p and pid_running(p) for p in p1.values()),
                "--stop: hub and edge are gone")
        L.check_eq(pids(), {"hub": None, "edge": None}, "--stop removes the pid files")
        r = run("--status")
        L.check_eq(r.returncode, 1, "--status after --stop: not running (exit 1)")
        edge_log = open(os.path.join(state, "edge.log")).read()
        L.check("final:" in edge_log, "the edge was stopped cleanly (final counters logged)")
    finally:
        for p in pids().values():  # whatever the script left behind
            if p and pid_running(p):
                try:
                    os.killpg(p, signal.SIGKILL)
                except OSError:
                    pass
        st.close()
    L.finish()


if __name__ == "__main__":
    main()
