#!/usr/bin/env bash
# Benchmark: one cluster's key + CSR -> certificate -> cacerts files, offline, with
# pca-mesh (which also validates the bundle) against the equivalent openssl commands
# (the guide's CSR step, signing with a local root as Istio's tools/certs does).
# Reports hyperfine's ratio; the machines are shared, so read ratios, not times.
# Usage: scripts/bench-local.sh [RUNS]   (needs hyperfine; PCA_MESH_BIN picks the build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${PCA_MESH_BIN:-"$root/target/debug"}
runs=${1:-20}
command -v hyperfine >/dev/null || { echo "hyperfine is not installed (apt-get install hyperfine)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export PATH="$bin:$PATH"
pca-issue --init-root root-ca --key-type rsa4096 --cn "Bench Root" >/dev/null
printf '%s\n' 'basicConstraints=critical,CA:TRUE,pathlen:0' 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature' \
  'subjectKeyIdentifier=hash' 'authorityKeyIdentifier=keyid' > ca.ext

ours='pca-csr --cluster c1 --json --force | pca-issue --ca file:root-ca | pca-get | cacerts-build --output dir=out --force'
guide='mkdir -p g && openssl req -new -nodes -newkey rsa:2048 -keyout g/ca-key.pem -subj "/C=US/ST=CA/O=Tetrateio/CN=c1-cluster" -out g/c1.csr 2>/dev/null && openssl x509 -req -in g/c1.csr -CA root-ca/ca-cert.pem -CAkey root-ca/ca-key.pem -days 365 -extfile ca.ext -out g/ca-cert.pem 2>/dev/null && cp root-ca/ca-cert.pem g/root-cert.pem && cat g/ca-cert.pem g/root-cert.pem > g/cert-chain.pem'

hyperfine --shell bash --warmup 2 --runs "$runs" --export-json bench.json -n pca-mesh "$ours" -n openssl "$guide"
python3 - <<'PY'
import json
r = {x["command"]: x for x in json.load(open("bench.json"))["results"]}
a, b = r["pca-mesh"]["median"], r["openssl"]["median"]
print(f"median pca-mesh / openssl = {a/b:.2f}  (pca-mesh also validates the bundle: chain, key, webpki leaf)")
PY
