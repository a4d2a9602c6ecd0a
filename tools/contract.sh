#!/usr/bin/env bash
# Live contract test (`make contract`): holds a real `phoneapi serve` to
# openapi.yaml with two external, spec-driven checkers.
#
#  1. `redocly respect` runs the Arazzo workflows in tools/contract/ (every
#     operation and its main error statuses); respect checks each response's
#     status code, Content-Type and body against openapi.yaml, and each step's
#     successCriteria. tools/contract/coverage.mjs then proves that every
#     operation answered its 2xx and its declared 400/401/403/404/409/415.
#  2. Prism, in proxy mode with --errors, stands in front of the same server
#     while the Go end-to-end tests (e2e/, driving the generated client) run
#     through it. A response that breaks openapi.yaml carries `sl-violations`
#     (the tests fail on that header) and, with --errors, becomes a Prism error;
#     any violation or Prism-generated error in Prism's log fails the run too.
#
# Needs the pinned npm tools (`make tools`: tools/node_modules) and Go.
# Logs and the respect JSON report are kept in bin/contract/.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
TOOLS=tools/node_modules/.bin
ARAZZO=tools/contract/phoneapi.arazzo.yaml
OUT=bin/contract
BIN=bin/phoneapi

if [[ ! -x $TOOLS/redocly || ! -x $TOOLS/prism ]]; then
  echo "contract: $TOOLS has no redocly or prism: run 'make tools' first" >&2
  exit 1
fi
# No telemetry, no update checks: nothing leaves the machine.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_NOTIFICATIONS=true REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1

server_pid=""
prism_pid=""
work=$(mktemp -d)
cleanup() {
  local status=$?
  if [[ -n $prism_pid ]] && kill -0 "$prism_pid" 2>/dev/null; then
    kill "$prism_pid" 2>/dev/null || true
    wait "$prism_pid" 2>/dev/null || true
  fi
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  if [[ $status -ne 0 ]]; then
    echo "contract: FAILED (exit $status); logs in $OUT/" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# strip removes colour codes and the CLI tools' boxed notices (Node.js
# deprecation banners) from their output, and turns the no-break spaces
# respect indents with into plain ones.
strip() { sed -e 's/\x1b\[[0-9;]*m//g' -e 's/\xc2\xa0/ /g' | grep -v -e '[║╔╚]' || true; }

# wait_for FILE REGEX SECONDS PID: the first match of REGEX (its first
# sed-style group) in FILE, waiting while PID lives.
wait_for() {
  local file=$1 re=$2 secs=$3 pid=$4 i got
  for ((i = 0; i < secs * 10; i++)); do
    got=$(sed -n -E "s#.*${re}.*#\\1#p" "$file" 2>/dev/null | head -n 1)
    if [[ -n $got ]]; then
      echo "$got"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}

rm -rf "$OUT"
mkdir -p "$OUT"

# One snapshot of the spec (and the workflows, at the same relative path) for
# the whole run: every checker sees the same contract, and Prism, which
# restarts when its document changes, stays put.
SPEC=$work/contract/openapi.yaml
mkdir -p "$work/contract/tools/contract"
cp openapi.yaml "$SPEC"
cp "$ARAZZO" "$work/contract/$ARAZZO"

echo "== contract: build $BIN"
"$GO" build -o "$BIN" ./cmd/phoneapi

echo "== contract: start phoneapi on a free loopback port (fresh database)"
secret=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
# --rate-limit 0: the workflows send some 190 requests as one user as fast as
# respect can, which passes the default bucket (100 at once, 50 a second)
# on a fast run; a stray 429 would fail an unrelated step. The 429 itself is
# tested in handlers (TestRateLimit*).
"$BIN" serve --addr 127.0.0.1:0 --db "$work/contract.db" --jwt-secret "$secret" --rate-limit 0 2>"$OUT/server.log" &
server_pid=$!
if ! url=$(wait_for "$OUT/server.log" '"msg":"listening","addr":"([^"]+)"' 30 "$server_pid"); then
  echo "contract: the server did not start:" >&2
  cat "$OUT/server.log" >&2
  exit 1
fi
echo "server: $url"

token() { "$BIN" token --jwt-secret "$secret" --ttl 1h; }
token_a=$(token) # owns everything the Arazzo workflows create
token_b=$(token) # another user, for the 403 cases
token_c=$(token) # the e2e tests' users: fresh ones, so that
token_d=$(token) # earlier data cannot leak into their assertions

echo "== contract: redocly respect $ARAZZO"
severity='{"STATUS_CODE_CHECK":"error","SCHEMA_CHECK":"error","CONTENT_TYPE_CHECK":"error","SUCCESS_CRITERIA_CHECK":"error"}'
respect_rc=0
REDOCLY_CLI_RESPECT_INPUT="tokenA=$token_a,tokenB=$token_b" \
  "$TOOLS/redocly" respect "$work/contract/$ARAZZO" \
  --server "phoneapi=$url" \
  --severity "$severity" \
  --json-output "$OUT/respect.json" \
  >"$OUT/respect.log" 2>&1 || respect_rc=$?
# One line per step (the passing checks under it are in the log).
strip <"$OUT/respect.log" |
  grep -v -E '^ *✓ (success criteria|status code|content-type|schema) check' |
  grep -v -E '^ *$' || true
respect_summary=$(strip <"$OUT/respect.log" | grep -E '^ *(Workflows|Steps|Checks):' | sed -E 's/^ +//' | paste -sd ';' - | sed 's/;/; /g' || true)
if [[ $respect_rc -ne 0 ]]; then
  echo "contract: redocly respect failed (exit $respect_rc): $respect_summary" >&2
  exit 1
fi
if [[ -z $respect_summary ]]; then
  echo "contract: no summary in respect's output (see $OUT/respect.log)" >&2
  exit 1
fi

echo "== contract: coverage of openapi.yaml by the respect run"
node tools/contract/coverage.mjs "$SPEC" "$work/contract/$ARAZZO" "$OUT/respect.json" | tee "$OUT/coverage.log"
coverage_summary=$(grep -E '^ *coverage:' "$OUT/coverage.log" | sed -E 's/^ *coverage: //')

echo "== contract: Prism proxy (--errors) in front of the server"
"$TOOLS/prism" proxy "$SPEC" "$url" --errors --host 127.0.0.1 --port 0 >"$OUT/prism.log" 2>&1 &
prism_pid=$!
if ! proxy=$(wait_for "$OUT/prism.log" 'Prism is listening on (http://[0-9.:]+)' 90 "$prism_pid"); then
  echo "contract: Prism did not start:" >&2
  strip <"$OUT/prism.log" >&2
  exit 1
fi
echo "prism: $proxy -> $url"

echo "== contract: e2e tests through Prism"
e2e_rc=0
PHONEAPI_E2E_URL=$proxy PHONEAPI_E2E_TOKEN=$token_c PHONEAPI_E2E_TOKEN_B=$token_d PHONEAPI_E2E_PRISM=1 \
  "$GO" test -count=1 -v ./e2e/ 2>&1 | tee "$OUT/e2e.log" || e2e_rc=$?

kill "$prism_pid"
wait "$prism_pid" 2>/dev/null || true
prism_pid=""
forwarded=$(grep -c 'Received forward response' "$OUT/prism.log" || true)
violations=$(strip <"$OUT/prism.log" | grep -E 'Violation|Request terminated with error|sl-violations' || true)
if [[ -n $violations ]]; then
  echo "contract: Prism reported violations or answered requests itself:" >&2
  echo "$violations" >&2
  exit 1
fi
if [[ $e2e_rc -ne 0 ]]; then
  echo "contract: the e2e tests failed through Prism (exit $e2e_rc)" >&2
  exit 1
fi
if [[ $forwarded -eq 0 ]]; then
  echo "contract: Prism forwarded no requests" >&2
  exit 1
fi
e2e_summary=$(grep -cE '^--- PASS' "$OUT/e2e.log" || true)" tests passed"
skipped=$(grep -c 'skipped through Prism' "$OUT/e2e.log" || true)

echo "== contract: stop the server (SIGTERM)"
kill -TERM "$server_pid"
server_rc=0
wait "$server_pid" || server_rc=$?
server_pid=""
if [[ $server_rc -ne 0 ]]; then
  echo "contract: the server exited $server_rc after SIGTERM" >&2
  tail -n 20 "$OUT/server.log" >&2
  exit 1
fi

echo
echo "== contract: summary"
echo "respect:  $respect_summary"
echo "coverage: $coverage_summary"
echo "prism:    $forwarded responses forwarded and validated, 0 violations; e2e: $e2e_summary ($skipped spec-invalid requests skipped)"
echo "server:   exited 0 on SIGTERM"
echo "time:     ${SECONDS}s"
