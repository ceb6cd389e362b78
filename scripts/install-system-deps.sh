#!/usr/bin/env bash
# Installs the Debian packages a fresh machine lacks, only for what is about to run. Groups:
#   browser      chromium: the headless browser that hosts the offline VS Code for integration tests
#   code-server  ripgrep (code-server's install wants an `rg` binary it would otherwise download)
#                and libkrb5-dev (headers its kerberos module builds against): installing the
#                VS Code server of code-server, for `npm start` without a desktop VS Code and for
#                the integration tests
#   lavapipe     Mesa 25 from bookworm-backports: the software Vulkan driver Dawn accepts, so WGSL
#                kernels really execute on a machine without a GPU (bookworm's own Mesa 22 is rejected)
#   archives     xz-utils
# Usage: install-system-deps.sh [--dry-run] [GROUP...]
#   No group: all of them (CI and `npm test`). `npm start` asks for what its path needs
#   (tools/systemDeps.ts): nothing with a desktop VS Code. --dry-run says what the groups need and
#   what is missing, and installs nothing.
# Idempotent: does nothing for what is already there. Needs root to install (CI and the dev
# machines are); without root it only says what is missing.
set -euo pipefail

dry_run=0
groups=()
for arg in "$@"; do
  case "$arg" in
    --dry-run) dry_run=1 ;;
    browser|code-server|lavapipe|archives) groups+=("$arg") ;;
    *) echo "install-system-deps: unknown argument \"$arg\"; usage: install-system-deps.sh [--dry-run] [browser] [code-server] [lavapipe] [archives]" >&2; exit 2 ;;
  esac
done
[ ${#groups[@]} -gt 0 ] || groups=(browser code-server lavapipe archives)

have_mesa25() {
  dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -qE '^(2[4-9]|[3-9][0-9])\.'
}

# Per group: the packages it needs, and which of them are missing.
need=()
want_mesa=0
mesa_missing=0
report=()
check() { # group package present(0|1)
  report+=("$1: $2 ($([ "$3" = 1 ] && echo present || echo missing))")
  [ "$3" = 1 ] || need+=("$2")
}
present() { "$@" >/dev/null 2>&1 && echo 1 || echo 0; }
for group in "${groups[@]}"; do
  case "$group" in
    browser) check browser chromium "$(present command -v chromium)" ;;
    code-server)
      check code-server ripgrep "$(present command -v rg)"
      # code-server's kerberos module compiles against the GSSAPI headers when it installs.
      check code-server libkrb5-dev "$(present test -f /usr/include/gssapi/gssapi.h)"
      ;;
    lavapipe)
      want_mesa=1
      if have_mesa25; then report+=("lavapipe: mesa-vulkan-drivers 24 or later (present)"); else report+=("lavapipe: mesa-vulkan-drivers 24 or later (missing)"); mesa_missing=1; fi
      ;;
    archives) check archives xz-utils "$(present command -v xz)" ;;
  esac
done

if [ "$dry_run" = 1 ]; then
  printf 'install-system-deps: %s\n' "${report[@]}"
  missing="${need[*]:-}"
  [ "$mesa_missing" = 1 ] && missing="${missing:+$missing }mesa-vulkan-drivers(bookworm-backports)"
  echo "install-system-deps: would install: ${missing:-nothing}"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  if [ ${#need[@]} -gt 0 ] || [ "$mesa_missing" = 1 ]; then
    echo "install-system-deps: missing ${need[*]:-}$([ "$mesa_missing" = 1 ] && echo ' Mesa 25 lavapipe'); run this script as root to install them" >&2
    exit 1
  fi
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
sources=/etc/apt/sources.list.d/debian.sources
backports=/etc/apt/sources.list.d/ringkernel-bookworm-backports.sources
updated=0
if [ "$want_mesa" = 1 ] && [ "$mesa_missing" = 1 ] && [ ! -f "$backports" ]; then
  # Same mirror the machine's own sources already name.
  mirror=$(awk '/^URIs:/ {print $2; exit}' "$sources" 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" > "$backports"
fi
if [ ${#need[@]} -gt 0 ] || [ "$mesa_missing" = 1 ]; then
  apt-get update -qq
  updated=1
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "install-system-deps: installing ${need[*]}"
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ "$mesa_missing" = 1 ]; then
  echo "install-system-deps: installing Mesa lavapipe from bookworm-backports"
  apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
fi
[ "$updated" = 1 ] && echo "install-system-deps: done" || true
