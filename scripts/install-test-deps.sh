#!/usr/bin/env bash
# Installs the Debian packages the tests use, where this machine lets us (root with apt-get):
#   postgresql         — the store's migrations are also tested against a real Postgres server;
#   chromium           — the web app's end-to-end tests drive it through playwright-core;
#   strace             — the embedded chain's crash-safety test watches its file-system calls' order;
#   libopenblas0-pthread — the native kernels hand products of many rows to OpenBLAS where it is
#                        installed, so both of their GEMMs (OpenBLAS and their own) are tested;
#   mesa-vulkan-drivers ≥ 25 (bookworm-backports) — lavapipe, a CPU Vulkan driver, so the WebGPU
#                        backend's kernels are tested without a GPU (Debian 12's own Mesa 22 is
#                        refused by Dawn; see ../shared/GPU.md).
# Without them those tests skip with a message saying so; everything else still runs.
set -euo pipefail
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v strace >/dev/null 2>&1 || missing+=(strace)
/sbin/ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so\.0' || missing+=(libopenblas0-pthread)
mesa=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
need_mesa=0
[ "${mesa%%.*}" -ge 25 ] 2>/dev/null || need_mesa=1
if [ ${#missing[@]} -eq 0 ] && [ $need_mesa -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "install-test-deps: ${missing[*]} $([ $need_mesa -eq 1 ] && echo 'mesa-vulkan-drivers≥25') not installed and this user cannot apt-get them; the tests that need them will skip" >&2
  exit 0
fi
if [ $need_mesa -eq 1 ] && grep -q bookworm /etc/os-release; then
  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/openledger-bookworm-backports.list
fi
echo "install-test-deps: installing Debian's ${missing[*]} $([ $need_mesa -eq 1 ] && echo 'mesa-vulkan-drivers (backports)') for the tests…"
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; fi
if [ $need_mesa -eq 1 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null ||
    echo "install-test-deps: Mesa from bookworm-backports could not be installed; the WebGPU kernel tests will skip" >&2
fi
