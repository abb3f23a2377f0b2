#!/usr/bin/env bash
# The TSE guide's per-cluster runbook (reference/tse-aws-pca-guide.txt, "Certificate
# Signing Request" to "Creating the secret"), run as printed, for differential tests
# and benchmarks against pca-csr | pca-issue | pca-get | cacerts-build.
#
# Usage: CLUSTER_NAME=c1 AWS_REGION=us-east-1 CERT_AUTHORITY=arn:... scripts/guide-runbook.sh
# (AWS_ENDPOINT_URL and credentials as for any aws CLI command; run it in a scratch
# directory: it writes ./${CLUSTER_NAME}/.)
#
# Every command is the page's own, in its order. Only the lines the page lost are
# filled in, each marked "FILLED", and kept minimal:
#   - the openssl config heredoc is cut after `subjectAltName = @alt_names`: its
#     [ alt_names ] section and the closing EOF are added;
#   - `openssl req` has neither -config (so the file above would be unused) nor -out
#     (so the CSR would go to the terminal): both are added, -out being the path the
#     issue-certificate command reads;
#   - the get-certificate pipe ends in a dangling `\`: its redirect to the file the
#     kubectl command reads is added;
#   - the kubectl command, also ending in a dangling `\`, runs with --dry-run=client
#     -o json into ${CLUSTER_NAME}/cacerts-secret.json, as there is no cluster here.
# Nothing is corrected: the certificate file keeps the chain the sed pipe packs into
# it, the secret has no cert-chain.pem, and "root-cert.pem" is the issuing CA.
set -euo pipefail
: "${CLUSTER_NAME:?set CLUSTER_NAME}" "${AWS_REGION:?set AWS_REGION}" "${CERT_AUTHORITY:?set CERT_AUTHORITY}"

# --- Certificate Signing Request
mkdir -p ${CLUSTER_NAME}

# Create openssl config file
cat <<EOF | envsubst > ${CLUSTER_NAME}/${CLUSTER_NAME}.cnf
default_bits = 2048
prompt = no
distinguished_name = req_distinguished_name
req_extensions = san_reqext

[ req_distinguished_name ]
countryName = US
stateOrProvinceName = California
organizationName =

[ san_reqext ]
subjectAltName = @alt_names

[ alt_names ]
DNS.1 = istiod.istio-system.svc
EOF
# FILLED: the [ alt_names ] section and the EOF above.

openssl req -new \
-nodes \
-newkey rsa:2048 \
-days 365 \
-keyout ${CLUSTER_NAME}/${CLUSTER_NAME}-priv-key.pem \
-config ${CLUSTER_NAME}/${CLUSTER_NAME}.cnf `# FILLED` \
-out ${CLUSTER_NAME}/${CLUSTER_NAME}.csr `# FILLED` \
-subj "/C=US/ST=CA/O=Tetrateio/CN=${CLUSTER_NAME}-cluster"

# --- Request Intermediate CA
CERT_ARN=$(aws acm-pca issue-certificate \
--certificate-authority-arn ${CERT_AUTHORITY} \
--template-arn "arn:aws:acm-pca:::template/SubordinateCACertificate_PathLen0/V1" \
--signing-algorithm "SHA256WITHRSA" \
--validity Value=1,Type="YEARS" \
--region ${AWS_REGION} \
--csr fileb://${CLUSTER_NAME}/${CLUSTER_NAME}.csr \
| jq -r .CertificateArn)

echo $CERT_ARN

# --- Obtaining Intermediate CA
aws acm-pca get-certificate \
--certificate-arn ${CERT_ARN} \
--certificate-authority-arn ${CERT_AUTHORITY} \
--region ${AWS_REGION} \
--output text | sed $'s/\t/\\\n/g' \
> ${CLUSTER_NAME}/${CLUSTER_NAME}-cert.pem # FILLED

# --- Obtaining CA Root Certificate
aws acm-pca get-certificate-authority-certificate \
--certificate-authority-arn ${CERT_AUTHORITY} \
--region ${AWS_REGION} \
--output text \
> ${CLUSTER_NAME}/root-cert.pem

# --- Creating the secret
kubectl create secret generic cacerts -n istio-system \
--from-file=ca-cert.pem=${CLUSTER_NAME}/${CLUSTER_NAME}-cert.pem \
--from-file=ca-key.pem=${CLUSTER_NAME}/${CLUSTER_NAME}-priv-key.pem \
--from-file=root-cert.pem=${CLUSTER_NAME}/root-cert.pem \
--dry-run=client -o json > ${CLUSTER_NAME}/cacerts-secret.json # FILLED: dry run, no cluster here
