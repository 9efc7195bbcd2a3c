#!/usr/bin/env bash
# Browser tests of the web console: headless Chromium (Debian's package) driven by
# playwright-core against the real twirl binary. Usage: bash tests/browser/run.sh
# TWIRL_BIN picks the binary (default: debug/twirl in Cargo's target directory, built here).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium" >&2
  export DEBIAN_FRONTEND=noninteractive
  sudo_=""
  [ "$(id -u)" -ne 0 ] && sudo_="sudo"
  $sudo_ apt-get update -q
  $sudo_ apt-get install -y -q chromium
fi

if [ -z "${TWIRL_BIN:-}" ]; then
  (cd "$root" && cargo build -q)
  # Wherever Cargo put it: CARGO_TARGET_DIR or a configured target directory included.
  target_dir=$(cd "$root" && cargo metadata --format-version 1 --no-deps |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).target_directory))')
  export TWIRL_BIN="$target_dir/debug/twirl"
fi

cd "$here"
npm ci --no-audit --no-fund --loglevel=error
npm test
