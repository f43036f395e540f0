#!/usr/bin/env bash
# Installs the Debian packages the engine and its tests need, only those missing.
# Idempotent: a second run with everything present does nothing.
set -euo pipefail

packages=(
  cmake clang libclang-dev   # whisper.cpp build (whisper-rs-sys)
  espeak-ng sox libsox-fmt-all   # prompts and test audio
  sip-tester baresip-core        # real SIP peers in the tests (sipp, baresip)
  asterisk-core-sounds-en-wav    # recorded queue prompts
  chromium chromium-driver       # headless browser for the board and agent screen tests
  python3-venv                   # make bench: faster-whisper in its own virtualenv
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || {
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}"
}
