#!/usr/bin/env bash
# The test command (README "Run the tests"; .ci/run calls it): set-up, every Rust test on cpu
# and on wgpu (lavapipe when there is no GPU), the browser build of the core, and the page in
# headless Chromium (tests/browser.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh
cargo test --workspace --locked
cargo build -p cotlab-core -p cotlab-web --target wasm32-unknown-unknown --locked
echo "wasm32 build of cotlab-core and cotlab-web: ok"
# The browser page in headless Chromium against the CLI (tests/browser.rs; needs the package).
if [ "${COTLAB_WEB_TESTS:-1}" = 1 ]; then
  bash www/build.sh
  cargo test -p cotlab --test browser --locked -- --ignored
fi
