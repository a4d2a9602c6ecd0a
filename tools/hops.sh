#!/usr/bin/env bash
# Counts how often one phone PATCH goes back to a package of phoneapi it
# has already left (issue 12's "back and forth"). It builds phoneapi
# without optimisation or inlining (REV, default the working tree), seeds
# one phone over HTTP, attaches `dlv trace` to the server for the calls of
# handlers, handlers/phonenum, db and generated, sends one PATCH (location
# and a national number, so the phone's stored calling code is read) and
# prints the packages in call order with the count.
#
#   tools/hops.sh [REV]      needs dlv (go install github.com/go-delve/delve/cmd/dlv@v1.27.2), curl, python3
set -euo pipefail
cd "$(dirname "$0")/.."
command -v dlv >/dev/null || { echo "hops: dlv is required: go install github.com/go-delve/delve/cmd/dlv@v1.27.2" >&2; exit 2; }
work=$(mktemp -d)
trap 'kill -9 ${serve:-} ${trace:-} 2>/dev/null || true; rm -rf "$work"' EXIT
src=.
if [ -n "${1:-}" ]; then
	git worktree add -q --detach "$work/src" "$1"
	src=$work/src
fi
(cd "$src" && go build -gcflags=all='-N -l' -o "$work/phoneapi" ./cmd/phoneapi)
[ "$src" = . ] || git worktree remove --force "$work/src"
bin=$work/phoneapi
port=$((20000 + RANDOM % 20000))
base=http://127.0.0.1:$port/api/v2/contacts
"$bin" serve --db "$work/p.db" --addr 127.0.0.1:$port --rate-limit 0 >"$work/serve.log" 2>&1 &
serve=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
tok=$("$bin" token --db "$work/p.db" --ttl 1h | tail -1)
h=(-s -H "Authorization: Bearer $tok" -H "Content-Type: application/vnd.api+json" -H "Accept: application/vnd.api+json")
id() { python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])'; }
c=$(curl "${h[@]}" -X POST "$base" -d '{"data":{"type":"contacts","attributes":{"name":"A"}}}' | id)
p=$(curl "${h[@]}" -X POST "$base/$c/people" -d '{"data":{"type":"people","attributes":{"first_name":"B"}}}' | id)
ph=$(curl "${h[@]}" -X POST "$base/$c/people/$p/phones" -d '{"data":{"type":"phone_numbers","attributes":{"number":"617-555-0100"}}}' | id)
url=$base/$c/people/$p/phones/$ph
patch() { curl "${h[@]}" -o /dev/null -w '%{http_code}' -X PATCH "$url" -d '{"data":{"type":"phone_numbers","id":"'"$ph"'","attributes":{"location":"'"$1"'","number":"617-555-0199","overwrite":true}}}'; }
patch warm >/dev/null # first use of every lazy path, outside the trace
dlv trace --pid "$serve" 'github.com/phoneapi/phoneapi/(handlers|db|generated)[./]' >"$work/trace" 2>&1 &
trace=$!
sleep 8 # dlv sets its breakpoints
echo "PATCH status: $(patch home)"
sleep 3
kill -INT "$trace" 2>/dev/null || true
sleep 1
python3 - "$work/trace" <<'PY'
import re, sys
seq = []
for line in open(sys.argv[1]):
    m = re.match(r'> goroutine\(\d+\): github\.com/phoneapi/phoneapi/([^(]+?)\(', line)
    if not m:
        continue
    name = m.group(1)
    pkg = name[:name.index('.', name.rfind('/') + 1)]
    if not seq or seq[-1] != pkg:
        seq.append(pkg)
back = sum(1 for i, p in enumerate(seq) if p in seq[:i])
print(' → '.join(seq))
print(f'{len(seq)} stretches in {len(set(seq))} packages; returns to a package already left: {back}')
PY
