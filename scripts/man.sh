#!/usr/bin/env bash
# Regenerates man/<tool>.1 from each tool's own --help definitions (clap_mangen).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${PCA_MESH_BIN:-"$root/target/debug"}
mkdir -p "$root/man"
for dir in "$root"/crates/*/; do
  tool=$(basename "$dir")
  [ -f "$dir/src/main.rs" ] || continue
  "$bin/$tool" --generate-man > "$root/man/$tool.1"
  echo "man/$tool.1"
done
