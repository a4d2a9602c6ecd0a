#!/usr/bin/env bash
# Checks deploy/phoneapi.service with systemd-analyze (make check-deploy):
# `verify` must pass without a single warning (an unknown or misspelt key is
# only a warning to systemd), and `security --offline` must rate the sandbox
# at most MAX_EXPOSURE (tenths: 20 is "2.0 OK"). The unit names
# /usr/local/bin/phoneapi; the check runs on a temporary copy pointing at
# BIN, which must exist. Without systemd-analyze it skips with a message.
# Usage: tools/check-deploy.sh BIN
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:?usage: tools/check-deploy.sh BIN}")
unit=deploy/phoneapi.service
MAX_EXPOSURE=${MAX_EXPOSURE:-20}

if ! command -v systemd-analyze >/dev/null; then
	echo "check-deploy: systemd-analyze not found; skipping the check of $unit" >&2
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s#/usr/local/bin/phoneapi#$bin#g" "$unit" >"$tmp/phoneapi.service"

out=$(systemd-analyze verify "$tmp/phoneapi.service" 2>&1) || { echo "$out" >&2; echo "check-deploy: systemd-analyze verify $unit failed" >&2; exit 1; }
if [ -n "$out" ]; then
	echo "$out" >&2
	echo "check-deploy: systemd-analyze verify $unit warns (above)" >&2
	exit 1
fi
echo "check-deploy: systemd-analyze verify $unit: ok"

# --offline needs systemd 250 or later; older ones need a running systemd.
if ! systemd-analyze security --help 2>/dev/null | grep -q -- --offline; then
	echo "check-deploy: this systemd-analyze has no 'security --offline'; skipping the exposure check" >&2
	exit 0
fi
if ! out=$(systemd-analyze security --offline=true --threshold="$MAX_EXPOSURE" "$tmp/phoneapi.service" 2>&1); then
	echo "$out" >&2
	echo "check-deploy: $unit: exposure above $MAX_EXPOSURE/100 (systemd-analyze security, above)" >&2
	exit 1
fi
echo "check-deploy: $(echo "$out" | grep 'Overall exposure' | sed 's/.*: //') (systemd-analyze security --offline, at most $MAX_EXPOSURE/100)"
