#!/usr/bin/env bash
# Runs every fuzz target of the module, one after another, each for a bounded
# time, and exits non-zero when any finds a failure.
#
#   scripts/fuzz.sh [seconds-per-target] [package-pattern]
#
# Defaults: 20 seconds, ./... . Targets are found with `go test -list`, so a
# new Fuzz function is picked up without editing this script. A failing input
# is written by Go under <package>/testdata/fuzz/<Target>/; commit it with the
# fix: it then runs as a regression test in every plain `go test`.
#
# Environment: FUZZ_MINIMIZE (default 10s) bounds the minimisation of a
# failing input; GOFLAGS etc. pass through.
set -euo pipefail

secs="${1:-20}"
pattern="${2:-./...}"
minimize="${FUZZ_MINIMIZE:-10s}"
cd "$(dirname "$0")/.."

case "$secs" in
  ''|*[!0-9]*) echo "fuzz.sh: seconds must be a whole number, got '$secs'" >&2; exit 2 ;;
esac

# "<package> <Target>" lines. go test -list prints the targets of each
# package followed by an "ok <package>" line.
targets=()
while read -r pkg; do
  while read -r name; do
    [[ "$name" == Fuzz* ]] && targets+=("$pkg $name")
  done < <(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep -E '^Fuzz[A-Za-z0-9_]*$' || true)
done < <(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' "$pattern")

if [[ ${#targets[@]} -eq 0 ]]; then
  echo "fuzz.sh: no fuzz targets found in $pattern" >&2
  exit 2
fi

echo "fuzz.sh: ${#targets[@]} targets, ${secs}s each"
failed=()
for t in "${targets[@]}"; do
  pkg="${t% *}"; name="${t#* }"
  echo "=== $pkg $name"
  out=$(mktemp)
  set +e
  go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "${secs}s" -fuzzminimizetime "$minimize" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  set -e
  if [[ $rc -ne 0 ]]; then
    if ! grep -q 'Failing input written to' "$out" && grep -q 'context deadline exceeded' "$out"; then
      # The fuzzing engine itself sometimes fails to stop its workers when
      # the time is up ("context deadline exceeded", no input written): not
      # a finding. Run the target once more; a second failure counts.
      echo "fuzz.sh: $name: the fuzzing engine timed out stopping, without a failing input; running it again"
      if ! go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "${secs}s" -fuzzminimizetime "$minimize"; then
        failed+=("$pkg $name")
      fi
    else
      failed+=("$pkg $name")
    fi
  fi
  rm -f "$out"
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz.sh: FAILED:" >&2
  printf '  %s\n' "${failed[@]}" >&2
  echo "The failing inputs are under the packages' testdata/fuzz/ directories (git status shows them)." >&2
  exit 1
fi
echo "fuzz.sh: all ${#targets[@]} targets passed"
