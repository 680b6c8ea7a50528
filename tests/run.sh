#!/usr/bin/env bash
# The test command (README "Run the tests"; .ci/run calls it): set-up, every Rust test on cpu
# and on wgpu (lavapipe when there is no GPU), and the browser build of the core.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh
cargo test --workspace --locked
cargo build -p cotlab-core -p cotlab-web --target wasm32-unknown-unknown --locked
echo "wasm32 build of cotlab-core and cotlab-web: ok"
