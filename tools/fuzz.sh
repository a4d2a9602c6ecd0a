#!/usr/bin/env bash
# tools/fuzz.sh FUZZTIME PKG:TARGET... — run each go test -fuzz target for
# FUZZTIME (make fuzz). A target fails on any failing input (written to
# PKG/testdata/fuzz/TARGET/) or any other test failure. One exception is
# retried once: Go 1.26's fuzz coordinator can stop at the end of -fuzztime
# with a bare "context deadline exceeded" and no failing input when its
# workers are slow to acknowledge the stop (go.dev/issue/75804, fixed in
# Go 1.27); that says nothing about the code under test.
set -uo pipefail
fuzztime=$1
shift
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run() { # pkg target
	"${GO:-go}" test -run '^$' -fuzz "^$2\$" -fuzztime "$fuzztime" "$1" 2>&1 | tee "$log"
	return "${PIPESTATUS[0]}"
}
for t in "$@"; do
	pkg=${t%%:*} target=${t#*:}
	echo "== $target ($pkg, $fuzztime)"
	run "$pkg" "$target" && continue
	if grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
		echo "== $target: the fuzz coordinator stopped with a bare 'context deadline exceeded' and no failing input (go.dev/issue/75804); running it once more"
		run "$pkg" "$target" && continue
	fi
	echo "== $target FAILED" >&2
	exit 1
done
