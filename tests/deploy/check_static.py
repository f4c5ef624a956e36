#!/usr/bin/env python3
"""check_static.py - static checks of deploy/ against the real daemons and the build.

Every option, environment variable and flag named in the example configs, env files, systemd
units, Dockerfiles and compose.yaml must exist in the --help of the daemon it is meant for, and
every daemon option must be documented in its example; the systemd units carry the hardening the
deployment guide promises; the Dockerfiles' cmake line uses only the project's options and
targets and copies binaries from where the build puts them; the runtime packages exist in
Debian (apt-cache) and cover every shared library the built binaries load.

usage: check_static.py SOURCE_DIR BINARY_DIR [SECRETS_DIR]
Prints one line per check group, "SKIPPED: ..." for what this machine cannot check, and exits 1
on any failure (each failure printed as "FAIL: ...").
"""
import os
import re
import shutil
import subprocess
import sys

SRC, BIN = sys.argv[1], sys.argv[2]
SECRETS = sys.argv[3] if len(sys.argv) > 3 else None
DEPLOY = os.path.join(SRC, "deploy")
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def read(rel):
    with open(os.path.join(SRC, rel), encoding="utf-8") as f:
        return f.read()


def help_of(rel_binary):
    out = subprocess.run([os.path.join(BIN, rel_binary), "--help"], capture_output=True,
                         text=True, timeout=10, check=True).stdout
    flags = set(re.findall(r"^\s+--([a-z][a-z0-9-]*)", out, re.M))
    envs = set(re.findall(r"\b(FL0WER_[A-Z0-9_]+)\b", out))
    return flags, envs


HUB = "hub/daemon/fl0wer-hub"
EDGE = "edge/daemon/fl0wer-edge"
hub_flags, hub_envs = help_of(HUB)
edge_flags, edge_envs = help_of(EDGE)
META = {"help", "version", "config"}
if len(hub_flags - META) < 15 or len(edge_flags - META) < 15:
    fail("could not read the option lists from --help (hub %d, edge %d options)"
         % (len(hub_flags), len(edge_flags)))


# --- example config files: every named option exists, every option is documented --------------
def check_conf(rel, flags, daemon):
    names = []
    for n, line in enumerate(read(rel).splitlines(), 1):
        m = re.match(r"^#?([a-z][a-z0-9-]*)\s*=\s*\S", line)
        if m:
            names.append(m.group(1))
            if m.group(1) not in flags or m.group(1) in META:
                fail("%s line %d: '%s' is not an option of %s" % (rel, n, m.group(1), daemon))
    missing = sorted(flags - META - set(names))
    if missing:
        fail("%s does not document %s" % (rel, ", ".join(missing)))
    print("conf %s: %d settings, all options of %s covered" % (rel, len(names), daemon))


check_conf("deploy/config/hub.conf.example", hub_flags, "fl0wer-hub")
check_conf("deploy/config/edge.conf.example", edge_flags, "fl0wer-edge")


def check_env(rel, envs, daemon):
    named = set()
    for n, line in enumerate(read(rel).splitlines(), 1):
        m = re.match(r"^#?(FL0WER_[A-Z0-9_]+)=", line)
        if m:
            named.add(m.group(1))
            if m.group(1) not in envs:
                fail("%s line %d: %s is not a variable of %s" % (rel, n, m.group(1), daemon))
    missing = sorted(envs - named)
    if missing:
        fail("%s does not list %s" % (rel, ", ".join(missing)))
    print("env %s: %d variables, all of %s covered" % (rel, len(named), daemon))


check_env("deploy/config/hub.env.example", hub_envs, "fl0wer-hub")
check_env("deploy/config/edge.env.example", edge_envs, "fl0wer-edge")


# --- systemd units ---------------------------------------------------------------------------
def unit_settings(rel):
    settings = {}
    for line in read(rel).splitlines():
        if line and line[0] not in "#;[" and "=" in line:
            k, v = line.split("=", 1)
            settings.setdefault(k.strip(), []).append(v.strip())
    return settings


HARDENING = {
    "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
    "PrivateTmp": "yes", "PrivateDevices": "yes", "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "RestrictNamespaces": "yes",
    "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes", "CapabilityBoundingSet": "",
    "DynamicUser": "no", "Restart": "on-failure",
}
UNITS = {
    "fl0wer-hub.service": (HUB, hub_flags, "fl0wer", "fl0wer", "/etc/fl0wer/hub.env", True),
    "fl0wer-edge.service": (EDGE, edge_flags, "fl0wer-edge", "fl0wer-edge",
                            "/etc/fl0wer/edge.env", False),
}
sysusers = read("deploy/systemd/fl0wer.sysusers.conf")
for unit, (binary, flags, user, state, envfile, reload_ok) in UNITS.items():
    s = unit_settings("deploy/systemd/" + unit)
    for key, want in HARDENING.items():
        if s.get(key) != [want]:
            fail("%s: %s=%s, want %s=%s" % (unit, key, s.get(key), key, want))
    if "@system-service" not in s.get("SystemCallFilter", []):
        fail("%s: no SystemCallFilter=@system-service" % unit)
    if s.get("User") != [user] or not re.search(r"^u\s+%s\s" % re.escape(user), sysusers, re.M):
        fail("%s: User=%s is not created by fl0wer.sysusers.conf" % (unit, s.get("User")))
    if s.get("StateDirectory", [""])[0].split()[0] != state:
        fail("%s: StateDirectory=%s, want %s" % (unit, s.get("StateDirectory"), state))
    if s.get("EnvironmentFile") != ["-" + envfile]:
        fail("%s: EnvironmentFile=%s, want -%s" % (unit, s.get("EnvironmentFile"), envfile))
    exe = s.get("ExecStart", [""])[0].split()
    if not exe or os.path.basename(exe[0]) != os.path.basename(binary):
        fail("%s: ExecStart does not run %s" % (unit, os.path.basename(binary)))
    for word in exe[1:]:
        if word.startswith("--") and word[2:].split("=")[0] not in flags:
            fail("%s: ExecStart flag %s is not an option of %s" % (unit, word, binary))
    # The edge does not handle SIGHUP (it would die): only the hub may have ExecReload.
    if reload_ok and s.get("ExecReload") != ["/bin/kill -HUP $MAINPID"]:
        fail("%s: ExecReload should send SIGHUP" % unit)
    if not reload_ok and "ExecReload" in s:
        fail("%s: has ExecReload but fl0wer-edge does not handle SIGHUP" % unit)
print("systemd units: hardening, users, state directories, ExecStart flags checked")


# --- Dockerfiles -----------------------------------------------------------------------------
def cmake_options():
    opts = set()
    for root, dirs, files in os.walk(SRC):
        dirs[:] = [d for d in dirs if not d.startswith("build") and d != ".git"]
        for f in files:
            if f == "CMakeLists.txt" or f.endswith(".cmake"):
                with open(os.path.join(root, f), encoding="utf-8") as fh:
                    opts.update(re.findall(r"^\s*option\(\s*([A-Z0-9_]+)", fh.read(), re.M))
    return opts


def dockerfile(rel):
    text = read(rel).replace("\\\n", " ")
    stages = re.split(r"^FROM\s+", text, flags=re.M)[1:]
    return [("FROM " + st).splitlines() for st in stages]


PROJECT_OPTS = cmake_options()
runtime_pkgs = {}
build_pkgs = set()
DOCKER = {
    "Dockerfile.hub": (["fl0wer-hub", "fl0wer"], {"4800/tcp", "7443/tcp"}, "/var/lib/fl0wer",
                       HUB, hub_envs),
    "Dockerfile.edge": (["fl0wer-edge", "fl0wer"], {"2056/udp"}, "/var/lib/fl0wer-edge", EDGE,
                        edge_envs),
}
for name, (targets, ports, volume, binary, envs) in DOCKER.items():
    rel = "deploy/container/" + name
    stages = dockerfile(rel)
    if len(stages) != 2 or not stages[0][0].startswith("FROM debian:12 AS build") \
            or stages[1][0] != "FROM debian:12-slim":
        fail("%s: want a debian:12 build stage and a debian:12-slim runtime stage" % rel)
        continue
    build, run = "\n".join(stages[0]), "\n".join(stages[1])
    m = re.search(r"cmake -S /src -B /build (.*?) &&\s+cmake --build /build .*?--target ([\w -]+)",
                  build)
    if not m:
        fail("%s: no 'cmake -S /src -B /build ... && cmake --build /build ... --target' line" % rel)
        continue
    for d in re.findall(r"-D([A-Z0-9_]+)=", m.group(1)):
        if d != "CMAKE_BUILD_TYPE" and d not in PROJECT_OPTS:
            fail("%s: -D%s is not an option of the project (%s)" % (rel, d,
                                                                  ", ".join(sorted(PROJECT_OPTS))))
    if "-DCMAKE_BUILD_TYPE=Release" not in m.group(1):
        fail("%s: the build stage does not build Release" % rel)
    if m.group(2).split() != targets:
        fail("%s: builds %s, want exactly %s" % (rel, m.group(2).split(), targets))
    build_pkgs.update(re.search(r"--no-install-recommends\s+([\w.+ -]+?)\s*&&", build)
                      .group(1).split())
    rp = re.search(r"--no-install-recommends\s+([\w.+ -]+?)\s*&&", run)
    runtime_pkgs[name] = rp.group(1).split() if rp else []
    cp = re.search(r"^COPY --from=build (.*) /usr/local/bin/$", run, re.M)
    copied = cp.group(1).split() if cp else []
    for path in copied:
        # The image build uses the same layout as this build tree: /build/<dir>/<target>.
        if not os.access(os.path.join(BIN, os.path.relpath(path, "/build")), os.X_OK):
            fail("%s: copies %s, but the build puts no such program there" % (rel, path))
    if sorted(os.path.basename(p) for p in copied) != sorted(targets):
        fail("%s: copies %s, want the targets %s" % (rel, copied, targets))
    ent = re.search(r'^ENTRYPOINT \["/usr/local/bin/([\w-]+)"\]', run, re.M)
    if not ent or ent.group(1) != os.path.basename(binary):
        fail("%s: ENTRYPOINT is not /usr/local/bin/%s" % (rel, os.path.basename(binary)))
    exposed = set(" ".join(re.findall(r"^EXPOSE (.*)$", run, re.M)).split())
    if exposed != ports:
        fail("%s: EXPOSE %s, want %s" % (rel, sorted(exposed), sorted(ports)))
    if not re.search(r'^VOLUME \["%s"\]' % re.escape(volume), run, re.M):
        fail("%s: no VOLUME [\"%s\"]" % (rel, volume))
    user = re.search(r"^USER (\S+)", run, re.M)
    if not user or user.group(1) in ("root", "0"):
        fail("%s: the runtime stage must run as a non-root USER" % rel)
    for env in re.findall(r"\b(FL0WER_[A-Z0-9_]+)", run):
        if env not in envs:
            fail("%s: %s is not a variable of %s" % (rel, env, binary))
print("dockerfiles: stages, cmake options %s, targets, COPY paths, ports, user checked"
      % sorted(PROJECT_OPTS))

ign = read("deploy/container/dockerignore")
for name in DOCKER:
    if read("deploy/container/%s.dockerignore" % name) != ign:
        fail("deploy/container/%s.dockerignore differs from deploy/container/dockerignore" % name)


# --- Debian packages --------------------------------------------------------------------------
def apt_has_lists():
    lists = "/var/lib/apt/lists"
    return bool(shutil.which("apt-cache")) and os.path.isdir(lists) and any(
        f.endswith("_Packages") or "_Packages." in f for f in os.listdir(lists))


if not apt_has_lists():
    print("SKIPPED: Debian package checks (apt-cache absent or without package lists)")
else:
    # One apt-cache call (each call rebuilds the package cache where docker-clean disables it):
    # the recursive dependency graph of every package the Dockerfiles install. A package exists
    # in Debian's lists exactly when it heads a block of that output.
    all_pkgs = sorted(build_pkgs | {p for v in runtime_pkgs.values() for p in v})
    r = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                        "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"]
                       + all_pkgs, capture_output=True, text=True)
    graph, cur = {}, None
    for line in r.stdout.splitlines():
        if not line.startswith(" "):
            cur = line.strip()
            graph.setdefault(cur, set())
        elif cur:
            dep = line.split(":", 1)[1] if ":" in line else line
            graph[cur].add(dep.strip().strip("<>").split(":")[0])
    for p in all_pkgs:
        if p not in graph:
            fail("package %s (Dockerfiles) is not in apt-cache" % p)
    print("apt-cache: %d packages found: %s"
          % (len([p for p in all_pkgs if p in graph]), " ".join(p for p in all_pkgs if p in graph)))

    def closure(pkgs):
        seen, todo = set(), list(pkgs)
        while todo:
            p = todo.pop()
            if p not in seen:
                seen.add(p)
                todo.extend(graph.get(p, ()))
                todo.extend(graph.get("<%s>" % p, ()))
        return seen

    # Every shared library the built binaries load must come from a runtime package or its
    # dependencies (dpkg -S finds the package that ships each library).
    if not all(shutil.which(t) for t in ("dpkg", "ldd", "readelf")):
        print("SKIPPED: shared-library coverage (dpkg, ldd or readelf absent)")
    else:
        for name, (targets, _, _, binary, _) in DOCKER.items():
            # Only the libraries a binary names itself (DT_NEEDED) count: the packages that
            # ship them bring their own dependencies. Sanitizer runtimes (libasan, libubsan,
            # and what they pull in) are left out: they are never in a Release image.
            progs = [binary, "tools/fl0wer/fl0wer"]
            libs = set()
            for prog in progs:
                path = os.path.join(BIN, prog)
                where = dict(re.findall(r"^\s*(\S+) => (/\S+)",
                                        subprocess.run(["ldd", path], capture_output=True,
                                                       text=True).stdout, re.M))
                needed = re.findall(r"\(NEEDED\).*\[(\S+)\]",
                                    subprocess.run(["readelf", "-d", path], capture_output=True,
                                                   text=True).stdout)
                libs |= {os.path.realpath(where[n]) for n in needed
                         if n in where and not re.match(r"lib(a|ub|t|l)san\.", n)}
            # Debian 12 is usr-merged: dpkg may know a library under /lib or /usr/lib.
            cand = sorted(libs | {l.replace("/usr/lib/", "/lib/", 1) for l in libs})
            d = subprocess.run(["dpkg", "-S"] + cand, capture_output=True, text=True)
            owner = {}
            for line in d.stdout.splitlines():
                pkg, path = line.split(": ", 1)
                owner[path.replace("/lib/", "/usr/lib/", 1) if path.startswith("/lib/")
                      else path] = pkg.split(":")[0]
            need = set()
            for lib in sorted(libs):
                if lib in owner:
                    need.add(owner[lib])
                elif not re.search(r"lib(a|ub)san", lib):
                    print("note: %s is not from a Debian package" % lib)
            missing = sorted(need - closure(set(runtime_pkgs[name]) | {"libc6"}))
            if missing:
                fail("%s: the binaries load libraries from %s, not installed by %s"
                     % (name, " ".join(missing), " ".join(runtime_pkgs[name])))
            print("%s: runtime libraries of %s come from %s" % (name, " ".join(progs),
                                                               " ".join(sorted(need))))


# --- compose.yaml ----------------------------------------------------------------------------
try:
    import yaml
except ImportError:
    yaml = None
if yaml is None:
    print("SKIPPED: compose.yaml checks (python3-yaml absent)")
else:
    with open(os.path.join(DEPLOY, "container/compose.yaml"), encoding="utf-8") as f:
        compose = yaml.safe_load(f)
    svc = compose.get("services", {})
    want = {"hub": (hub_envs, "Dockerfile.hub", {"4800:4800/tcp", "7443:7443/tcp"}),
            "edge-site-a": (edge_envs, "Dockerfile.edge", {"2056:2056/udp"}),
            "edge-site-b": (edge_envs, "Dockerfile.edge", {"2057:2056/udp"})}
    if set(svc) != set(want):
        fail("compose.yaml: services %s, want %s" % (sorted(svc), sorted(want)))
    for name, (envs, df, ports) in want.items():
        s = svc.get(name, {})
        if os.path.basename(s.get("build", {}).get("dockerfile", "")) != df:
            fail("compose.yaml: %s is not built from %s" % (name, df))
        if set(s.get("ports", [])) != ports:
            fail("compose.yaml: %s publishes %s, want %s" % (name, s.get("ports"), sorted(ports)))
        env = s.get("environment", {})
        for k, v in env.items():
            if k not in envs:
                fail("compose.yaml: %s sets %s, not a variable of its daemon" % (name, k))
        mounts = dict(v.split(":")[:2] for v in s.get("volumes", []))
        secrets = [src for src, dst in mounts.items() if dst == "/etc/fl0wer"]
        if len(secrets) != 1 or not secrets[0].startswith("./secrets/"):
            fail("compose.yaml: %s does not mount ./secrets/... on /etc/fl0wer" % name)
            continue
        # Every /etc/fl0wer file the service names (or uses by default) must be one that
        # make-secrets.sh creates in the mounted folder.
        files = {os.path.basename(v) for v in env.values() if str(v).startswith("/etc/fl0wer/")}
        files |= {"authorized_edges", "api-tokens"} if name == "hub" else {"edge.key"}
        if SECRETS:
            sub = os.path.join(SECRETS, os.path.relpath(secrets[0], "./secrets"))
            for fname in sorted(files):
                if not os.path.isfile(os.path.join(sub, fname)):
                    fail("compose.yaml: %s needs %s, which make-secrets.sh does not create in %s"
                         % (name, fname, secrets[0]))
    print("compose.yaml: services, ports, variables and secret files checked")

if failures:
    print("%d failure(s)" % len(failures))
    sys.exit(1)
print("static checks passed")
