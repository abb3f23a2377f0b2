#!/usr/bin/env bash
# The guide's whole certificate flow, offline: a local root CA and a local issuing CA
# under it, then for three clusters key + CSR -> issue -> fetch -> validated cacerts,
# each checked with `openssl verify -x509_strict`. Usage: scripts/demo.sh [OUT_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/demo-out"}
bin=${PCA_MESH_BIN:-"$root/target/debug"}
export PATH="$bin:$PATH"

rm -rf "$out"
mkdir -p "$out"
cd "$out"

echo "== local CAs"
pca-issue --init-root root-ca --cn "Demo Root CA"
# A subordinate issuing CA, so one cluster gets a root -> issuing CA -> cluster chain.
pca-issue --init-subordinate issuing-ca --ca file:root-ca --cn "Demo Issuing CA" --key-type ecdsa-p384

for cluster in c1 c2 c3; do
  ca=file:root-ca
  [ "$cluster" = c3 ] && ca=file:issuing-ca
  echo "== $cluster (CA $ca)"
  mkdir -p "$cluster"
  pca-csr --cluster "$cluster" --json \
    | pca-issue --ca "$ca" \
    | pca-get > "$cluster/bundle.json"
  cacerts-build --output "dir=$cluster/cacerts" < "$cluster/bundle.json"
  cacerts-build --output json < "$cluster/bundle.json" > "$cluster/cacerts.json"
  chmod 600 "$cluster/cacerts.json"

  d=$cluster/cacerts
  # cert-chain.pem without its first certificate is what lies between ca-cert.pem and the root.
  awk 'n>0{print} /END CERTIFICATE/{n++}' "$d/cert-chain.pem" > "$cluster/untrusted.pem"
  openssl verify -x509_strict -CAfile "$d/root-cert.pem" -untrusted "$cluster/untrusted.pem" "$d/ca-cert.pem"
  openssl x509 -in "$d/ca-cert.pem" -noout -subject -ext basicConstraints | tr -s '\n ' ' '
  echo
  printf '   files: %s\n' "$(cd "$d" && stat -c '%n(%a)' ca-cert.pem ca-key.pem root-cert.pem cert-chain.pem | tr '\n' ' ')"
done

echo "== done: bundles in $out/<cluster>/cacerts, manifests in $out/<cluster>/cacerts.json"
