#!/usr/bin/env bash
# Runs every test: Go (with -race), a short fuzz pass, and the real-client
# end-to-end suite (Node + Apollo Client, headless Chromium). Needs Go,
# Node 20+ with npm, and Debian's chromium (.ci/run installs what is missing).
set -euo pipefail
cd "$(dirname "$0")"

echo "== generated code is up to date"
go generate ./...
if git rev-parse --git-dir >/dev/null 2>&1 && ! git diff --quiet -- graph/ go.mod go.sum; then
  git --no-pager diff --stat -- graph/ go.mod go.sum
  echo "generated code is stale: run 'go generate ./...' and commit the result" >&2
  exit 1
fi

# -pgo=off for what only checks behaviour: a build with default.pgo
# compiles the server's dependencies again with the profile (minutes on a
# fresh 2-core machine), and PGO changes no behaviour. The end-to-end
# suite builds the server as users do, with it.
echo "== AUTHZ.md is up to date"
go run -pgo=off . -print-authz > AUTHZ.md
if git rev-parse --git-dir >/dev/null 2>&1 && ! git diff --quiet -- AUTHZ.md; then
  git --no-pager diff -- AUTHZ.md
  echo "AUTHZ.md is stale: run 'go run . -print-authz > AUTHZ.md' and commit the result" >&2
  exit 1
fi

echo "== gofmt and go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './*/node_modules/*'))
if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted" >&2; exit 1; fi
go vet ./...

echo "== go test -race"
go test -race -pgo=off -count=1 ./...

echo "== fuzz (FUZZEXECS=${FUZZEXECS:=50000} executions per target)"
FUZZEXECS="$FUZZEXECS" bash scripts/fuzz.sh

echo "== end-to-end: Apollo Client and Chromium"
bash e2e/run.sh
