#!/usr/bin/env bash
# Offline validation of the deploy files; CI runs it (bash deploy/validate.sh).
# No Docker engine is needed, and none is used: `docker build` cannot run
# here, so the image's build step is checked by building the same binary the
# same way (CGO_ENABLED=0) and by lint-level checks of the Dockerfile.
#
#   1. deploy/validate (its own Go module): the Compose file through
#      compose-go (the loader of `docker compose config`, schema checked),
#      Kubernetes manifests decoded strictly into the Kubernetes API types,
#      render.yaml, heroku/app.json + Procfile, the Dockerfile.
#   2. `docker compose config` too, when the Compose plugin is installed.
#   3. The image's binaries: CGO_ENABLED=0 go build ./cmd/nango and
#      ./deploy/healthcheck are static (file, ldd), and the binary serves
#      /health and /ready on SQLite, checked by the health-check binary.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="/usr/local/go/bin:$PATH"

step() { printf '\n--- deploy: %s\n' "$*"; }
tmp="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

step "manifests (go test in deploy/validate)"
(cd deploy/validate && go test -count=1 ./...)

step "docker compose config"
if docker compose version >/dev/null 2>&1; then
  cat >"$tmp/env" <<'ENV'
NANGO_DB_PASSWORD=validate
NANGO_SECRET_KEY=validate
NANGO_ENCRYPTION_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=
ENV
  docker compose --env-file "$tmp/env" -f deploy/docker-compose.yaml config --quiet
  echo "docker compose config: ok"
else
  echo "the docker Compose plugin is not installed: compose-go validated the file above"
fi

step "static binaries (CGO_ENABLED=0, as in deploy/Dockerfile)"
CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w" -o "$tmp/nango" ./cmd/nango
CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w" -o "$tmp/healthcheck" ./deploy/healthcheck
for bin in nango healthcheck; do
  desc="$(file -b "$tmp/$bin")"
  echo "$bin: $desc"
  case "$desc" in
    *"statically linked"*) ;;
    *) echo "FAIL: $bin is not statically linked" >&2; exit 1 ;;
  esac
  if ldd "$tmp/$bin" >/dev/null 2>&1; then
    echo "FAIL: ldd lists shared libraries for $bin:" >&2; ldd "$tmp/$bin" >&2; exit 1
  fi
done
"$tmp/nango" version

step "the static binary serves /health and /ready"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)))"
mkdir -p "$tmp/data"
(cd "$tmp" && env -i PATH="$PATH" HOME="$tmp" SERVER_PORT="$port" NANGO_DATA_DIR="$tmp/data" TELEMETRY=false \
  NANGO_SECRET_KEY=validate "$tmp/nango" serve >"$tmp/serve.log" 2>&1) &
pid=$!
ok=""
for _ in $(seq 1 100); do
  if SERVER_PORT="$port" "$tmp/healthcheck" /ready 2>/dev/null; then ok=1; break; fi
  sleep 0.1
done
if [ -z "$ok" ]; then
  echo "FAIL: the static binary did not become ready on port $port; its log:" >&2
  cat "$tmp/serve.log" >&2
  exit 1
fi
SERVER_PORT="$port" "$tmp/healthcheck"
echo "GET /health and /ready: 200 (checked with the image's health-check binary)"

echo
echo "deploy validation: ok"
