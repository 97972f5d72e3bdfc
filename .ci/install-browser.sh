#!/usr/bin/env bash
# Debian's chromium, and fonts for Chinese text and emoji in its screenshots, for tests/test_browser.py.
# Idempotent: installs only what is missing, and nothing when all is there. Playwright comes from pip
# (the `test` extra); its wheel bundles the driver, so `playwright install` is never needed.
set -euo pipefail

packages=(chromium fonts-noto-cjk fonts-noto-color-emoji)
missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg -s "$pkg" >/dev/null 2>&1; then missing+=("$pkg"); fi
done
if [ -x /usr/bin/chromium ] && [ ${#missing[@]} -eq 0 ]; then
    echo "install-browser: chromium and its fonts are present"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: no apt-get here; the browser tests will be skipped" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "install-browser: not root and no sudo; the browser tests will be skipped" >&2
        exit 0
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]:-chromium}" >/dev/null
echo "install-browser: $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium installed')"
