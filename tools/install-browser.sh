#!/usr/bin/env bash
# Installs what the browser-rendered crawl and the evidence screenshots need, when it is missing:
# Debian's chromium (Playwright's own download cannot run on machines without internet access) and
# fonts-noto-cjk (without it Chinese text in screenshots and PDFs shows as empty boxes).
set -euo pipefail

need=()
if [ -z "${BRANDPATROL_CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  need+=(chromium)
fi
if ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then
  need+=(fonts-noto-cjk)
fi
[ ${#need[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser: no apt-get here; install ${need[*]} yourself, or set BRANDPATROL_CHROMIUM_PATH" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "install-browser: not root and no sudo; install ${need[*]} yourself" >&2
    exit 0
  fi
fi
echo "install-browser: installing ${need[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
