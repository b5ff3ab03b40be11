#!/usr/bin/env bash
# Installs the Debian packages the tests use, where this machine lets us (root with apt-get):
#   postgresql — the store's migrations are also tested against a real Postgres server.
# Without them those tests skip with a message saying so; everything else still runs.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "install-test-deps: postgresql is not installed and this user cannot apt-get it; the Postgres-server tests will skip" >&2
  exit 0
fi
echo "install-test-deps: installing Debian's postgresql for the store tests…"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
