#!/usr/bin/env bash
# Build the browser package into www/pkg/: cotlab-web for wasm32-unknown-unknown, then the
# wasm-bindgen CLI of exactly the wasm-bindgen version in Cargo.lock (installed from crates.io
# when missing or different). Serve www/ with any static file server afterwards, e.g.
#   python3 -m http.server -d www 8080   →   http://localhost:8080/
# Usage: bash www/build.sh [--release]
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
cargo_flags=()
if [ "${1:-}" = "--release" ]; then profile=release; cargo_flags=(--release); fi

rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

# The CLI must match the wasm-bindgen crate exactly, or the generated glue does not fit.
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "build: installing wasm-bindgen-cli $want (found: ${have:-none}); this compiles for a few minutes once"
  # --locked first (the CLI's own lock file); if a registry mirror lacks one of those exact
  # versions, resolve afresh.
  cargo install wasm-bindgen-cli --version "$want" --force --locked || cargo install wasm-bindgen-cli --version "$want" --force
fi

cargo build -p cotlab-web --target wasm32-unknown-unknown --locked "${cargo_flags[@]}"
target_dir=${CARGO_TARGET_DIR:-target}
rm -rf www/pkg
wasm-bindgen --target web --no-typescript --out-dir www/pkg "$target_dir/wasm32-unknown-unknown/$profile/cotlab_web.wasm"
echo "build: www/pkg/ ready ($(du -sh www/pkg | cut -f1)); serve www/ with a static server, e.g. python3 -m http.server -d www 8080"
