#!/usr/bin/env bash
# Debian's nginx for `make serve` and the multi-worker browser test. Installs it when we may
# (root + apt-get, `apt-get update` once); otherwise says how, and the proxy test skips.
# It never starts the system's nginx service: `make serve` runs its own nginx in the foreground.
set -u
if [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's nginx for the multi-worker layout (make serve, proxy test)..."
  export DEBIAN_FRONTEND=noninteractive
  # policy-rc.d keeps the package from starting the system's nginx on port 80
  created_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  # the package lists are usually fresh (scripts/ensure-chromium.sh just updated them): update
  # only when the install cannot find the package without it
  apt_install() { apt-get -o DPkg::Lock::Timeout=300 install -y -qq nginx >/dev/null 2>&1; }
  apt_install || { apt-get -o DPkg::Lock::Timeout=300 update -qq && apt_install; }
  rc=$?
  [ -n "$created_policy" ] && rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] && exit 0
  echo "WARNING: could not install nginx; the proxy test will be skipped." >&2
else
  echo "NOTE: nginx missing and not root: the proxy test will be skipped and make serve fails." >&2
  echo "      Install it with: sudo apt-get install nginx" >&2
fi
exit 0
