#!/usr/bin/env bash
# Installs the Debian packages the tests use, where this machine lets us (root with apt-get):
#   postgresql — the store's migrations are also tested against a real Postgres server;
#   chromium   — the web app's end-to-end tests drive it through playwright-core.
# Without them those tests skip with a message saying so; everything else still runs.
set -euo pipefail
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "install-test-deps: ${missing[*]} not installed and this user cannot apt-get them; the tests that need them will skip" >&2
  exit 0
fi
echo "install-test-deps: installing Debian's ${missing[*]} for the tests…"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
