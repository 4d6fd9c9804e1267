#!/usr/bin/env bash
# Installs the Debian packages BrandPatrol and its tests use, where they are missing:
# chromium for pages that need JavaScript (Playwright's own download cannot run on machines without internet),
# fonts-noto-cjk (without it Chinese text in screenshots and PDFs shows as empty boxes), postgresql (the team
# database; tests start a throwaway server on 127.0.0.1) and poppler-utils (reading exported PDFs back).
set -euo pipefail

need=()
if [ -z "${BRANDPATROL_CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  need+=(chromium)
fi
for package in fonts-noto-cjk postgresql poppler-utils; do
  if ! dpkg -s "$package" >/dev/null 2>&1; then
    need+=("$package")
  fi
done
[ ${#need[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-packages: no apt-get here; install ${need[*]} yourself, or set BRANDPATROL_CHROMIUM_PATH" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "install-system-packages: not root and no sudo; install ${need[*]} yourself" >&2
    exit 0
  fi
fi
echo "install-system-packages: installing ${need[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
