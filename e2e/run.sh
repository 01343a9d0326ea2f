#!/usr/bin/env bash
# Runs the end-to-end tests: real clients (Apollo Client in node, Chromium
# through playwright-core) against the real server binary, on 127.0.0.1.
#
#   e2e/run.sh                      # every test file
#   e2e/run.sh apollo.test.mjs      # some files (paths relative to e2e/)
#
# Needs node 20+, npm, go, Debian's chromium at /usr/bin/chromium (or
# CHROMIUM_PATH), and Debian's redis-server and haproxy for
# instances.test.mjs; when one is missing and this runs as root with
# apt-get, it is installed (set E2E_NO_APT=1 to refuse instead).
set -euo pipefail

cd "$(dirname "$0")"

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "e2e: node 20 or later is required (found $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# Install the locked dependencies when node_modules is missing or was
# installed from another lockfile.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -d node_modules ] || [ "$(cat node_modules/.e2e-lock-sha256 2>/dev/null)" != "$lock_sum" ]; then
  echo "e2e: npm ci"
  npm ci --no-audit --no-fund
  echo "$lock_sum" >node_modules/.e2e-lock-sha256
fi

chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  if [ "${E2E_NO_APT:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "e2e: installing Debian's chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  if [ ! -x "$chromium" ]; then
    echo "e2e: $chromium not found: apt-get update && apt-get install -y chromium (or set CHROMIUM_PATH)" >&2
    exit 1
  fi
fi
export CHROMIUM_PATH=$chromium

# The daemons instances.test.mjs runs; without them it fails, naming the
# package (AUTHGQL_SKIP_DAEMONS=1 skips it instead).
for pair in redis-server:/usr/bin/redis-server haproxy:/usr/sbin/haproxy; do
  pkg=${pair%%:*} path=${pair#*:}
  if [ ! -x "$path" ] && ! command -v "$pkg" >/dev/null && [ "${E2E_NO_APT:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "e2e: installing Debian's $pkg"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/authgql-e2e.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "e2e: go build"
(cd .. && go build -o "$work/server" .)
export E2E_SERVER_BIN=$work/server

if [ $# -gt 0 ]; then
  files=("$@")
else
  files=(apollo.test.mjs browser.test.mjs audit.test.mjs instances.test.mjs)
fi

# One file at a time (each starts its own servers and browser); every test
# has 120 s at most, the whole run 10 minutes. Human-readable progress goes
# to the terminal, TAP to a file whose summary closes the output.
status=0
timeout --kill-after=10s 600s node --test \
  --test-concurrency=1 \
  --test-timeout=120000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$work/results.tap" \
  "${files[@]}" || status=$?

echo
grep -E '^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ' "$work/results.tap" || {
  echo "e2e: no test summary (status $status)" >&2
  [ "$status" -ne 0 ] || status=1
}
exit "$status"
