#!/usr/bin/env bash
# Builds the server and the suite, then runs the benchmark suite.
#
#   bench/run.sh                 full run (about 30 minutes): writes
#                                $WORK/results.json and $WORK/results.md
#   bench/run.sh --smoke         2 s per scenario, one run, small data set:
#                                checks that everything works (for CI); no
#                                thresholds
#   bench/run.sh [nbench run flags...]   e.g. -only token,hello -reps 1
#
# Needs Go and a PostgreSQL server where databases nango_bench_<pid> and
# nango_bench_<pid>_scale may be created and dropped (BENCH_PG, default the local
# trust-auth one). WORK defaults to ${TMPDIR:-/tmp}/nango-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-${TMPDIR:-/tmp}/nango-bench}
BENCH_PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
mkdir -p "$WORK/bin"
go build -o "$WORK/bin/nango" ./cmd/nango
go build -o "$WORK/bin/nbench" ./bench/cmd/nbench
args=()
for a in "$@"; do
	case "$a" in
	--smoke) args+=(-smoke) ;;
	*) args+=("$a") ;;
	esac
done
exec "$WORK/bin/nbench" run -nango "$WORK/bin/nango" -pg "$BENCH_PG" -work "$WORK" \
	-out "$WORK/results.json" -md "$WORK/results.md" "${args[@]}"
