#!/usr/bin/env bash
# Every test: the Python test services' own suites (ACM-PCA emulator extension,
# Kubernetes fixture API server checked with kubectl), then the Rust tests, which
# start their own emulator and fixture instances on 127.0.0.1 as they need them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv=$(scripts/venv.sh)
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests/support/pca_emulator tests/support/kube_fixture
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
