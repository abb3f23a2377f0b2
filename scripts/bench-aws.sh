#!/usr/bin/env bash
# Times the guide's runbook (scripts/guide-runbook.sh: openssl + aws CLI + jq + sed +
# kubectl --dry-run) against our pipeline (pca-csr | pca-issue | pca-get | cacerts-build)
# for N clusters on the ACM-PCA emulator, with hyperfine, and prints the ratio.
#
# Usage: scripts/bench-aws.sh [N_CLUSTERS=5] [RUNS=5]
# Needs: cargo build --bins, scripts/venv.sh (the emulator), hyperfine, jq, aws (v1), kubectl.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-5}
runs=${2:-5}
venv=$("$root/scripts/venv.sh")
work=$(mktemp -d)
emu_pid=
cleanup() { [ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$venv/bin/python" "$root/tests/support/pca_emulator/serve.py" > "$work/url" &
emu_pid=$!
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.1; done
export AWS_ENDPOINT_URL=$(head -1 "$work/url") AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench \
  AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
ca=$("$venv/bin/python" "$root/tests/support/pca_emulator/bootstrap.py" "$AWS_ENDPOINT_URL" root=root | jq -r .root)
export PATH="$root/target/debug:$PATH"

guide="cd $work && rm -rf guide && mkdir guide && cd guide && for i in \$(seq $n); do \
CLUSTER_NAME=c\$i AWS_REGION=us-east-1 CERT_AUTHORITY=$ca $root/scripts/guide-runbook.sh >/dev/null 2>&1; done"
ours="cd $work && rm -rf ours && mkdir ours && cd ours && for i in \$(seq $n); do \
pca-csr --cluster c\$i --json | pca-issue --ca $ca | pca-get | cacerts-build --output dir=c\$i-cacerts >/dev/null; done"

hyperfine --warmup 1 --runs "$runs" --export-json "$work/bench.json" -n "guide runbook" "$guide" -n "pca-mesh" "$ours"
jq -r --arg n "$n" '.results as $r | "\($n) clusters: guide runbook \($r[0].mean*1000|floor) ms, pca-mesh \($r[1].mean*1000|floor) ms; the runbook takes \($r[0].mean/$r[1].mean*100|floor/100)x as long"' "$work/bench.json"
