#!/usr/bin/env bash
# Runs the whole e2e suite: npm ci, Chromium, build the nango binary once, node --test.
# Exits non-zero on any failure.
#
#   e2e/run.sh                              # all test files, SQLite
#   NANGO_E2E_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable e2e/run.sh
#   e2e/run.sh test/oauth-flow.test.js      # some files only
#
# Server logs: e2e/artifacts/logs/. See docs/testing.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$here"

echo "== e2e: npm ci"
npm ci --no-audit --no-fund --loglevel=error

echo "== e2e: chromium"
bash scripts/ensure-chromium.sh

mkdir -p artifacts/logs
rm -f artifacts/logs/*.log
if compgen -G "$root/cmd/nango/*.go" >/dev/null; then
  echo "== e2e: go build ./cmd/nango"
  (cd "$root" && go build -o "$here/artifacts/nango" ./cmd/nango)
  export NANGO_E2E_BINARY="$here/artifacts/nango"
else
  echo "== e2e: cmd/nango has no Go files yet: server tests will be skipped"
  unset NANGO_E2E_BINARY
fi

if [ -n "${NANGO_E2E_DATABASE_URL:-}" ]; then
  echo "== e2e: database PostgreSQL (NANGO_E2E_DATABASE_URL)"
else
  echo "== e2e: database SQLite (set NANGO_E2E_DATABASE_URL for PostgreSQL)"
fi

if [ "$#" -gt 0 ]; then files=("$@"); else files=(test/*.test.js); fi
echo "== e2e: node --test ${files[*]}"
exec node --test --test-concurrency=1 --test-timeout=180000 --test-reporter=spec "${files[@]}"
