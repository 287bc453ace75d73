#!/usr/bin/env bash
# Makes sure Debian's Chromium and ChromeDriver are installed (browser tests
# cannot download a browser of their own here).
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    exit 0
fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "ensure-chromium: installing chromium and chromium-driver from Debian's packages"
as_root apt-get update -qq
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium chromium-driver >/dev/null
