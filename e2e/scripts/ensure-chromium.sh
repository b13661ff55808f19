#!/usr/bin/env bash
# Installs Debian's chromium (the browser the e2e suite drives through playwright-core) when
# /usr/bin/chromium is absent. Playwright's own browser download does not work on our machines.
# Override the browser with CHROMIUM_PATH to skip the install.
set -euo pipefail

bin="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$bin" ]; then
  echo "ensure-chromium: $("$bin" --version 2>/dev/null | head -n1)"
  exit 0
fi
if [ -n "${CHROMIUM_PATH:-}" ]; then
  echo "ensure-chromium: CHROMIUM_PATH=$CHROMIUM_PATH is not executable" >&2
  exit 1
fi

sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "ensure-chromium: /usr/bin/chromium missing and not root: apt-get install chromium" >&2
    exit 1
  fi
fi

echo "ensure-chromium: installing Debian's chromium"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "ensure-chromium: $(/usr/bin/chromium --version 2>/dev/null | head -n1)"
