#!/usr/bin/env bash
# Installs the Debian packages a fresh machine lacks for running the product and its tests:
#   - chromium: the headless browser that hosts the offline VS Code for integration tests;
#   - ripgrep: code-server's install wants an `rg` binary it would otherwise download;
#   - libkrb5-dev: headers code-server's kerberos module builds against;
#   - Mesa 25 (lavapipe) from bookworm-backports: the software Vulkan driver Dawn accepts, so
#     WGSL kernels really execute on a machine without a GPU (bookworm's own Mesa 22 is rejected).
# Idempotent: does nothing for what is already there. Needs root (CI and the dev machines are).
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v rg >/dev/null 2>&1 || need+=(ripgrep)
command -v xz >/dev/null 2>&1 || need+=(xz-utils)
# code-server's kerberos module compiles against the GSSAPI headers when it installs.
[ -f /usr/include/gssapi/gssapi.h ] || need+=(libkrb5-dev)

have_mesa25() {
  dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -qE '^(2[4-9]|[3-9][0-9])\.'
}

if [ "$(id -u)" != 0 ]; then
  if [ ${#need[@]} -gt 0 ] || ! have_mesa25; then
    echo "install-system-deps: missing ${need[*]:-} (and/or Mesa 25 lavapipe); run this script as root to install them" >&2
    exit 1
  fi
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
sources=/etc/apt/sources.list.d/debian.sources
backports=/etc/apt/sources.list.d/ringkernel-bookworm-backports.sources
updated=0
if ! have_mesa25 && [ ! -f "$backports" ]; then
  # Same mirror the machine's own sources already name.
  mirror=$(awk '/^URIs:/ {print $2; exit}' "$sources" 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" > "$backports"
fi
if [ ${#need[@]} -gt 0 ] || ! have_mesa25; then
  apt-get update -qq
  updated=1
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "install-system-deps: installing ${need[*]}"
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if ! have_mesa25; then
  echo "install-system-deps: installing Mesa lavapipe from bookworm-backports"
  apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
fi
[ "$updated" = 1 ] && echo "install-system-deps: done" || true
