#!/bin/sh
# Rebuilds ../assets/vendor/ from the exact versions in package-lock.json.
# Go builds never run this: the output is committed.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
node build.mjs
