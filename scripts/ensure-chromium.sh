#!/usr/bin/env bash
# Debian's chromium for the browser tests (Playwright drives /usr/bin/chromium; it never
# downloads a browser of its own). Installs it when we may (root + apt-get); otherwise the
# browser tests skip and say why.
set -u
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium fonts-dejavu-core >/dev/null \
    && exit 0
  echo "WARNING: could not install chromium; browser tests will be skipped." >&2
else
  echo "NOTE: /usr/bin/chromium missing and not root: browser tests will be skipped." >&2
  echo "      Install it with: sudo apt-get install chromium" >&2
fi
exit 0
