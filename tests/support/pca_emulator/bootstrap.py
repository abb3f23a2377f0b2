"""Create the private CAs the AWS tests use, in a running emulator (or any ACM-PCA).

    python bootstrap.py ENDPOINT_URL NAME=KIND [NAME=KIND ...]

KIND is one of
  root        a root CA, RSA_2048 / SHA256WITHRSA, GENERAL_PURPOSE
  sub:PARENT  a subordinate CA (RSA_2048) issued by the CA created earlier as PARENT,
              with SubordinateCACertificate_PathLen1/V1
  short       a root CA in SHORT_LIVED_CERTIFICATE usage mode
  ec256       a root CA with an EC_prime256v1 key
  ec384       a root CA with an EC_secp384r1 key
  pending     a root CA created and left PENDING_CERTIFICATE (no certificate imported)

Each CA is bootstrapped as AWS documents it: CreateCertificateAuthority, then
GetCertificateAuthorityCsr, IssueCertificate (RootCACertificate/V1 for a root, from the
parent for a subordinate), GetCertificate, ImportCertificateAuthorityCertificate.
Prints one JSON object {NAME: CA ARN}. Credentials and region come from the environment.
"""

from __future__ import annotations

import json
import sys
import time

import boto3

KINDS = {
    "root": ("ROOT", "RSA_2048", "SHA256WITHRSA", "GENERAL_PURPOSE"),
    "short": ("ROOT", "RSA_2048", "SHA256WITHRSA", "SHORT_LIVED_CERTIFICATE"),
    "ec256": ("ROOT", "EC_prime256v1", "SHA256WITHECDSA", "GENERAL_PURPOSE"),
    "ec384": ("ROOT", "EC_secp384r1", "SHA384WITHECDSA", "GENERAL_PURPOSE"),
    "sub": ("SUBORDINATE", "RSA_2048", "SHA256WITHRSA", "GENERAL_PURPOSE"),
    "pending": ("ROOT", "RSA_2048", "SHA256WITHRSA", "GENERAL_PURPOSE"),
}


def get_certificate(pca, ca_arn: str, cert_arn: str) -> dict:
    for _ in range(50):
        try:
            return pca.get_certificate(CertificateAuthorityArn=ca_arn, CertificateArn=cert_arn)
        except pca.exceptions.RequestInProgressException:
            time.sleep(0.1)
    raise SystemExit(f"{cert_arn} was never issued")


def create(pca, name: str, kind: str, made: dict[str, str]) -> str:
    base, _, parent = kind.partition(":")
    ca_type, key_alg, sig_alg, mode = KINDS[base]
    arn = pca.create_certificate_authority(
        CertificateAuthorityType=ca_type,
        UsageMode=mode,
        CertificateAuthorityConfiguration={
            "KeyAlgorithm": key_alg,
            "SigningAlgorithm": sig_alg,
            "Subject": {"Country": "US", "Organization": "pca-mesh tests", "CommonName": f"Test {name} CA"},
        },
    )["CertificateAuthorityArn"]
    if base == "pending":
        return arn
    csr = pca.get_certificate_authority_csr(CertificateAuthorityArn=arn)["Csr"]
    if ca_type == "ROOT":
        issuer, template, algorithm, years = arn, "RootCACertificate/V1", sig_alg, 10
    else:
        issuer = made[parent]
        issuer_config = pca.describe_certificate_authority(CertificateAuthorityArn=issuer)
        algorithm = issuer_config["CertificateAuthority"]["CertificateAuthorityConfiguration"]["SigningAlgorithm"]
        template, years = "SubordinateCACertificate_PathLen1/V1", 5
    cert_arn = pca.issue_certificate(
        CertificateAuthorityArn=issuer,
        Csr=csr.encode(),
        SigningAlgorithm=algorithm,
        TemplateArn=f"arn:aws:acm-pca:::template/{template}",
        Validity={"Type": "YEARS", "Value": years},
    )["CertificateArn"]
    got = get_certificate(pca, issuer, cert_arn)
    args = {"CertificateAuthorityArn": arn, "Certificate": got["Certificate"].encode()}
    if ca_type == "SUBORDINATE":
        args["CertificateChain"] = got["CertificateChain"].encode()
    pca.import_certificate_authority_certificate(**args)
    return arn


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit(__doc__)
    pca = boto3.client("acm-pca", endpoint_url=argv[0])
    made: dict[str, str] = {}
    for spec in argv[1:]:
        name, _, kind = spec.partition("=")
        made[name] = create(pca, name, kind, made)
    print(json.dumps(made))


if __name__ == "__main__":
    main(sys.argv[1:])
