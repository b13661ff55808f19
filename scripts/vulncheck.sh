#!/usr/bin/env bash
# Runs govulncheck on the whole module; exits non-zero when our code reaches
# a known vulnerability.
#
#   scripts/vulncheck.sh            # uses https://vuln.go.dev
#   VULNDB=offline scripts/vulncheck.sh
#
# VULNDB=offline is for machines that reach only the Go module proxy: the
# database is then built from the golang.org/x/vulndb module (its OSV files,
# indexed with its own cmd/indexdb) into $VULNDB_DIR (default
# ~/.cache/nango-vulndb) and read from there. The standard library is checked
# at the version of the toolchain that runs (go.mod's toolchain line with
# GOTOOLCHAIN=auto).
set -euo pipefail
cd "$(dirname "$0")/.."

govulncheck=(go run golang.org/x/vuln/cmd/govulncheck@v1.9.0)
if [[ "${VULNDB:-}" == "offline" ]]; then
  dir="${VULNDB_DIR:-$HOME/.cache/nango-vulndb}"
  ver="$(go list -m -json golang.org/x/vulndb@latest | sed -n 's/.*"Version": "\(.*\)".*/\1/p')"
  if [[ ! -f "$dir/$ver/index/db.json" ]]; then
    src="$(go mod download -json "golang.org/x/vulndb@$ver" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
    rm -rf "$dir/$ver"
    go run "golang.org/x/vulndb/cmd/indexdb@$ver" -vulns "$src/data/osv" -out "$dir/$ver"
  fi
  govulncheck+=(-db "file://$dir/$ver")
fi
echo "govulncheck with $(go version)"
"${govulncheck[@]}" ./...
