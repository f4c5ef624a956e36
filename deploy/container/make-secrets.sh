#!/usr/bin/env bash
# make-secrets.sh - creates everything a hub and its edges need to trust each other:
#   DIR/ca/ca.pem, ca-key.pem      a private CA (keep ca-key.pem offline once done)
#   DIR/hub/hub-cert.pem, hub-key.pem   the hub's certificate (subjectAltName DNS: the --hub-name's)
#   DIR/hub/authorized_edges       one "ed25519 KEY NAME" line per edge
#   DIR/hub/api-tokens             one admin token ("admin admin TOKEN")
#   DIR/admin-token                the same token, for FL0WER_TOKEN
#   DIR/EDGE/edge.key, ca.pem      per edge: its secret key and the CA to check the hub with
# usage: make-secrets.sh [--dir DIR] [--hub-name DNS]... [--days N] [EDGE-NAME]...
#   defaults: --dir ./secrets, --hub-name hub --hub-name localhost, edges site-a site-b.
# Needs openssl and the fl0wer CLI (PATH, or FL0WER=/path/to/fl0wer). Never overwrites a file.
set -euo pipefail

dir=./secrets
days=825
hub_names=()
edges=()
while [ $# -gt 0 ]; do
    case "$1" in
    --dir) dir=$2; shift 2 ;;
    --hub-name) hub_names+=("$2"); shift 2 ;;
    --days) days=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "make-secrets: unknown option $1" >&2; exit 2 ;;
    *) edges+=("$1"); shift ;;
    esac
done
[ ${#hub_names[@]} -gt 0 ] || hub_names=(hub localhost)
[ ${#edges[@]} -gt 0 ] || edges=(site-a site-b)
fl0wer=${FL0WER:-$(command -v fl0wer || true)}
if [ -z "$fl0wer" ] || [ ! -x "$fl0wer" ]; then
    echo "make-secrets: the fl0wer CLI is needed (put it on PATH or set FL0WER=/path/to/fl0wer)" >&2
    exit 1
fi
refuse() { if [ -e "$1" ]; then echo "make-secrets: $1 exists, not overwriting it" >&2; exit 1; fi; }

umask 077
mkdir -p "$dir/ca" "$dir/hub"

# 1. The CA (P-256 key, self-signed, 10 years).
if [ ! -e "$dir/ca/ca.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
        -subj "/CN=Fl0wer CA" -keyout "$dir/ca/ca-key.pem" -out "$dir/ca/ca.pem" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        2>/dev/null
fi

# 2. The hub's certificate, signed by the CA, naming every --hub-name.
refuse "$dir/hub/hub-cert.pem"
san=$(printf 'DNS:%s,' "${hub_names[@]}")
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=${hub_names[0]}" \
    -keyout "$dir/hub/hub-key.pem" -out "$dir/hub/hub.csr" 2>/dev/null
openssl x509 -req -in "$dir/hub/hub.csr" -CA "$dir/ca/ca.pem" -CAkey "$dir/ca/ca-key.pem" \
    -set_serial "0x$(openssl rand -hex 16)" -days "$days" -out "$dir/hub/hub-cert.pem" \
    -extfile <(printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' "${san%,}") \
    2>/dev/null
rm -f "$dir/hub/hub.csr"

# 3. One key per edge; its authorized line (keygen's last line) goes to the hub.
touch "$dir/hub/authorized_edges"
for e in "${edges[@]}"; do
    mkdir -p "$dir/$e"
    refuse "$dir/$e/edge.key"
    "$fl0wer" keygen --out "$dir/$e/edge.key" --name "$e" | tail -n 1 >> "$dir/hub/authorized_edges"
    cp "$dir/ca/ca.pem" "$dir/$e/ca.pem"
done

# 4. An admin API token.
if [ ! -e "$dir/hub/api-tokens" ]; then
    token=$(openssl rand -hex 32)
    printf 'admin admin %s\n' "$token" > "$dir/hub/api-tokens"
    printf '%s\n' "$token" > "$dir/admin-token"
fi

echo "make-secrets: wrote $dir (hub names: ${hub_names[*]}; edges: ${edges[*]})"
if [ "$(id -u)" -eq 0 ]; then
    chown -R 10001:10001 "$dir/hub" "${edges[@]/#/$dir/}"
    echo "make-secrets: gave $dir/hub and the edge folders to uid 10001 (the containers' user)"
else
    echo "make-secrets: for the containers (uid 10001) run:" \
         "sudo chown -R 10001:10001 $dir/hub ${edges[*]/#/$dir/}"
fi
