"""Tests of the ACM-PCA emulator (moto + pca_ext) through boto3, as a client of AWS would see it.

Run: /work/main/.venv/bin/python -m pytest tests/support/pca_emulator -q
Each test names the pca_ext patch it covers; PCA_EXT_DISABLE=<patch> must make it fail.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

SERVE = Path(__file__).with_name("serve.py")
TEMPLATE = "arn:aws:acm-pca:::template/"
ROOT_T, EE_T = TEMPLATE + "RootCACertificate/V1", TEMPLATE + "EndEntityCertificate/V1"
YEAR = {"Type": "YEARS", "Value": 1}
UTC = datetime.timezone.utc


def sub_t(n: int) -> str:
    return f"{TEMPLATE}SubordinateCACertificate_PathLen{n}/V1"


# ------------------------------------------------------------------ server fixtures
def start_server(*args: str) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION="us-east-1")
    proc = subprocess.Popen([sys.executable, str(SERVE), "--exit-on-stdin-eof", *args], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    return proc, url


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def server():
    proc, url = start_server()
    yield url
    stop_server(proc)


def control(url: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(url + path, data=data, method="POST" if data else "GET")) as r:
        return json.load(r)


def make_client(url: str):
    return boto3.client("acm-pca", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(retries={"mode": "standard", "total_max_attempts": 1}))


@pytest.fixture
def pca(server):
    control(server, "/_emulator/config", {"throttle_every": 0, "pending_polls": 0})
    return make_client(server)


# ------------------------------------------------------------------------- helpers
def code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


def new_key(kind: str = "RSA"):
    return rsa.generate_private_key(65537, 2048) if kind == "RSA" else ec.generate_private_key(ec.SECP256R1())


def make_csr(key, cn: str = "workload", sans: list[str] | None = None) -> bytes:
    b = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, "Tetrateio"),
                   x509.NameAttribute(x509.NameOID.COMMON_NAME, cn)]))
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
    return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def create_ca(pca, ca_type="ROOT", key_alg="RSA_2048", sig_alg=None, cn=None, **kw) -> str:
    sig_alg = sig_alg or ("SHA256WITHRSA" if key_alg.startswith("RSA") else "SHA256WITHECDSA")
    return pca.create_certificate_authority(
        CertificateAuthorityType=ca_type,
        CertificateAuthorityConfiguration={
            "KeyAlgorithm": key_alg, "SigningAlgorithm": sig_alg,
            "Subject": {"Country": "US", "Organization": "Example", "CommonName": cn or f"{ca_type} {key_alg}"}},
        **kw)["CertificateAuthorityArn"]


def issue(pca, ca_arn, csr, template=None, validity=YEAR, sig="SHA256WITHRSA", **kw) -> str:
    if template:
        kw["TemplateArn"] = template
    return pca.issue_certificate(CertificateAuthorityArn=ca_arn, Csr=csr, SigningAlgorithm=sig,
                                 Validity=validity, **kw)["CertificateArn"]


def fetch(pca, ca_arn, cert_arn) -> tuple[x509.Certificate, list[x509.Certificate]]:
    out = pca.get_certificate(CertificateAuthorityArn=ca_arn, CertificateArn=cert_arn)
    chain = x509.load_pem_x509_certificates(out["CertificateChain"].encode()) if "CertificateChain" in out else []
    return x509.load_pem_x509_certificate(out["Certificate"].encode()), chain


def activate_root(pca, key_alg="RSA_2048", **kw) -> tuple[str, x509.Certificate]:
    arn = create_ca(pca, "ROOT", key_alg, **kw)
    csr = pca.get_certificate_authority_csr(CertificateAuthorityArn=arn)["Csr"].encode()
    sig = "SHA256WITHRSA" if key_alg.startswith("RSA") else "SHA256WITHECDSA"
    cert_arn = issue(pca, arn, csr, ROOT_T, {"Type": "YEARS", "Value": 10}, sig)
    cert, _ = fetch(pca, arn, cert_arn)
    pca.import_certificate_authority_certificate(
        CertificateAuthorityArn=arn, Certificate=cert.public_bytes(serialization.Encoding.PEM))
    return arn, cert


def activate_sub(pca, parent_arn, parent_sig="SHA256WITHRSA", key_alg="EC_prime256v1", pathlen=1,
                 validity=None) -> tuple[str, x509.Certificate, list[x509.Certificate]]:
    arn = create_ca(pca, "SUBORDINATE", key_alg)
    csr = pca.get_certificate_authority_csr(CertificateAuthorityArn=arn)["Csr"].encode()
    cert_arn = issue(pca, parent_arn, csr, sub_t(pathlen), validity or {"Type": "YEARS", "Value": 5}, parent_sig)
    cert, chain = fetch(pca, parent_arn, cert_arn)
    pem = lambda cs: b"".join(c.public_bytes(serialization.Encoding.PEM) for c in cs)  # noqa: E731
    pca.import_certificate_authority_certificate(CertificateAuthorityArn=arn, Certificate=pem([cert]),
                                                 CertificateChain=pem(chain))
    return arn, cert, chain


def ext(cert: x509.Certificate, cls):
    return cert.extensions.get_extension_for_class(cls)


def ski(cert: x509.Certificate) -> bytes:
    return ext(cert, x509.SubjectKeyIdentifier).value.digest


def status(pca, arn) -> dict:
    return pca.describe_certificate_authority(CertificateAuthorityArn=arn)["CertificateAuthority"]


@pytest.fixture(scope="session")
def root(server):
    """An ACTIVE RSA root CA: (arn, certificate)."""
    return activate_root(make_client(server))


@pytest.fixture(scope="session")
def sub(server, root):
    """An ACTIVE EC subordinate (PathLen1) of ``root``: (arn, certificate, chain)."""
    return activate_sub(make_client(server), root[0])


# --------------------------------------------------------------------------- tests
@pytest.mark.parametrize("key_alg,key_type,size", [
    ("RSA_2048", rsa.RSAPublicKey, 2048), ("RSA_4096", rsa.RSAPublicKey, 4096),
    ("EC_prime256v1", ec.EllipticCurvePublicKey, 256), ("EC_secp384r1", ec.EllipticCurvePublicKey, 384)])
def test_root_bootstrap_per_key_algorithm(pca, key_alg, key_type, size):
    """patches ca_keys, issue, import: CA key per KeyAlgorithm; self-signed root template."""
    arn, cert = activate_root(pca, key_alg)
    assert status(pca, arn)["Status"] == "ACTIVE"
    assert isinstance(cert.public_key(), key_type) and cert.public_key().key_size == size
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)
    bc = ext(cert, x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length is None
    ku = ext(cert, x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign and ku.value.digital_signature
    assert ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier == ski(cert)
    out = pca.get_certificate_authority_certificate(CertificateAuthorityArn=arn)
    assert x509.load_pem_x509_certificate(out["Certificate"].encode()) == cert and "CertificateChain" not in out


def test_signing_algorithm_must_fit_ca_key_on_create(pca):
    """patch ca_keys: SigningAlgorithm of another key family is InvalidArgsException."""
    with pytest.raises(ClientError) as e:
        create_ca(pca, "ROOT", "EC_prime256v1", "SHA256WITHRSA")
    assert code(e) == "InvalidArgsException"


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_subordinate_templates(pca, root, n):
    """patch issue: SubordinateCACertificate_PathLenN/V1 is a CA with pathlen N, AKI = root SKI."""
    root_arn, root_cert = root
    key = new_key("EC")
    cert, chain = fetch(pca, root_arn, issue(pca, root_arn, make_csr(key, "cluster-1", ["ca.cluster-1"]), sub_t(n)))
    bc = ext(cert, x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == n
    ku = ext(cert, x509.KeyUsage).value
    assert ku.key_cert_sign and ku.crl_sign and ku.digital_signature and not ku.key_encipherment
    assert ski(cert) == x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest
    assert ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier == ski(root_cert)
    assert cert.issuer == root_cert.subject and cert.subject.rfc4514_string() == "CN=cluster-1,O=Tetrateio"
    assert ext(cert, x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) == ["ca.cluster-1"]
    assert cert.serial_number > 0
    assert chain == [root_cert]
    cert.verify_directly_issued_by(root_cert)


def test_subordinate_bootstrap_and_chains(pca, root, sub):
    """patches issue, import: subordinate CA with a different key
    algorithm; chains = issuing CA then its chain, root last."""
    root_arn, root_cert = root
    sub_arn, sub_cert, _ = sub
    assert status(pca, sub_arn)["Status"] == "ACTIVE"
    assert isinstance(sub_cert.public_key(), ec.EllipticCurvePublicKey)
    out = pca.get_certificate_authority_certificate(CertificateAuthorityArn=sub_arn)
    assert x509.load_pem_x509_certificate(out["Certificate"].encode()) == sub_cert
    assert x509.load_pem_x509_certificates(out["CertificateChain"].encode()) == [root_cert]
    # A second-level subordinate (PathLen0 under the PathLen1 one): chain sub2, sub, root.
    sub2_arn, sub2_cert, chain2 = activate_sub(pca, sub_arn, "SHA256WITHECDSA", "RSA_2048", pathlen=0,
                                               validity={"Type": "YEARS", "Value": 2})
    assert chain2 == [sub_cert, root_cert]
    leaf, chain = fetch(pca, sub2_arn, issue(pca, sub2_arn, make_csr(new_key()), validity={"Type": "DAYS", "Value": 1}))
    assert chain == [sub2_cert, sub_cert, root_cert]
    leaf.verify_directly_issued_by(sub2_cert)


def test_path_length_enforced_on_issue(pca, sub):
    """patch issue: a PathLen1 CA may not issue a PathLen1 CA (guide, RFC compliance)."""
    with pytest.raises(ClientError) as e:
        issue(pca, sub[0], make_csr(new_key()), sub_t(1), sig="SHA256WITHECDSA")
    assert code(e) == "ValidationException"


def test_end_entity_default_template(pca, root, sub):
    """patch issue: no template = EndEntityCertificate/V1, SANs copied, chain from a subordinate."""
    root_arn, root_cert = root
    sub_arn, sub_cert, _ = sub
    key = new_key()
    cert, chain = fetch(pca, sub_arn, issue(pca, sub_arn, make_csr(key, "svc", ["svc.ns", "svc.ns.svc"]),
                                            sig="SHA256WITHECDSA"))
    bc = ext(cert, x509.BasicConstraints).value
    assert not bc.ca
    ku = ext(cert, x509.KeyUsage).value
    assert ku.digital_signature and ku.key_encipherment and not ku.key_cert_sign
    assert set(ext(cert, x509.ExtendedKeyUsage).value) == {x509.ExtendedKeyUsageOID.SERVER_AUTH,
                                                          x509.ExtendedKeyUsageOID.CLIENT_AUTH}
    assert ext(cert, x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) == ["svc.ns", "svc.ns.svc"]
    assert ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier == ski(sub_cert)
    assert cert.issuer == sub_cert.subject
    assert chain == [sub_cert, root_cert]
    cert.verify_directly_issued_by(sub_cert)
    explicit, _ = fetch(pca, sub_arn, issue(pca, sub_arn, make_csr(key), EE_T, sig="SHA256WITHECDSA"))
    assert not ext(explicit, x509.BasicConstraints).value.ca


def test_validity_types(pca, root):
    """patch issue: Validity DAYS/MONTHS/YEARS/END_DATE/ABSOLUTE; notBefore = now - 60 min."""
    root_arn, _ = root
    now = datetime.datetime.now(UTC)
    end = (now + datetime.timedelta(days=40)).replace(microsecond=0)
    cases = [({"Type": "DAYS", "Value": 3}, now + datetime.timedelta(days=3)),
             ({"Type": "MONTHS", "Value": 2}, None),
             ({"Type": "YEARS", "Value": 2}, now.replace(year=now.year + 2)),
             ({"Type": "END_DATE", "Value": int(end.strftime("%Y%m%d%H%M%S"))}, end),
             ({"Type": "ABSOLUTE", "Value": int(end.timestamp())}, end)]
    for validity, want in cases:
        cert, _ = fetch(pca, root_arn, issue(pca, root_arn, make_csr(new_key()), validity=validity))
        nb, na = cert.not_valid_before_utc, cert.not_valid_after_utc
        assert abs((nb - (now - datetime.timedelta(minutes=60))).total_seconds()) < 120, validity
        if want is None:  # two calendar months
            assert 58 <= (na - now).days <= 62, validity
        else:
            assert abs((na - want).total_seconds()) < 120, validity


def test_validity_past_ca_not_after_refused(pca, root):
    """patch issue: no certificate outlives its issuing CA certificate."""
    with pytest.raises(ClientError) as e:
        issue(pca, root[0], make_csr(new_key()), validity={"Type": "YEARS", "Value": 11})
    assert code(e) == "ValidationException"


@pytest.mark.parametrize("sig,hash_name", [("SHA256WITHRSA", "sha256"), ("SHA384WITHRSA", "sha384"),
                                           ("SHA512WITHRSA", "sha512")])
def test_signing_algorithm_rsa(pca, root, sig, hash_name):
    """patch issue: SigningAlgorithm honoured (moto always signs SHA-512)."""
    cert, _ = fetch(pca, root[0], issue(pca, root[0], make_csr(new_key()), sig=sig))
    assert cert.signature_hash_algorithm.name == hash_name


@pytest.mark.parametrize("sig,hash_name", [("SHA256WITHECDSA", "sha256"), ("SHA384WITHECDSA", "sha384"),
                                           ("SHA512WITHECDSA", "sha512")])
def test_signing_algorithm_ecdsa(pca, sub, sig, hash_name):
    """patch issue: ECDSA algorithms on an EC CA."""
    cert, _ = fetch(pca, sub[0], issue(pca, sub[0], make_csr(new_key()), sig=sig))
    assert cert.signature_hash_algorithm.name == hash_name
    assert cert.signature_algorithm_oid._name.startswith("ecdsa")


def test_signing_algorithm_mismatch_refused(pca, root, sub):
    """patch issue: guide, Troubleshoot exceptions: algorithm not usable with the CA key -> InvalidArgsException."""
    for ca_arn, sig in ((root[0], "SHA256WITHECDSA"), (sub[0], "SHA256WITHRSA")):
        with pytest.raises(ClientError) as e:
            issue(pca, ca_arn, make_csr(new_key()), sig=sig)
        assert code(e) == "InvalidArgsException"


def test_usage_mode(pca):
    """patches usage_mode, ca_keys, issue: UsageMode reported; short-lived caps validity at 7 days."""
    general, _ = activate_root(pca)
    assert status(pca, general)["UsageMode"] == "GENERAL_PURPOSE"
    short, _ = activate_root(pca, UsageMode="SHORT_LIVED_CERTIFICATE")
    assert status(pca, short)["UsageMode"] == "SHORT_LIVED_CERTIFICATE"
    issue(pca, short, make_csr(new_key()), validity={"Type": "DAYS", "Value": 7})
    with pytest.raises(ClientError) as e:
        issue(pca, short, make_csr(new_key()), validity={"Type": "DAYS", "Value": 8})
    assert code(e) == "ValidationException"
    issue(pca, general, make_csr(new_key()), validity={"Type": "DAYS", "Value": 30})


def test_idempotency_token(pca, server, root):
    """patch issue: same token, CA and CSR -> same ARN, one certificate issued."""
    root_arn = root[0]
    csr, token = make_csr(new_key()), uuid.uuid4().hex[:32]
    before = control(server, "/_emulator/stats")["issued"].get(root_arn, 0)
    first = issue(pca, root_arn, csr, IdempotencyToken=token)
    assert issue(pca, root_arn, csr, IdempotencyToken=token) == first
    assert control(server, "/_emulator/stats")["issued"][root_arn] == before + 1
    assert issue(pca, root_arn, make_csr(new_key()), IdempotencyToken=token) != first
    assert issue(pca, root_arn, csr) != first


def test_issue_errors(pca, root):
    """patches issue, arn_check: InvalidState, ResourceNotFound, MalformedCSR, InvalidArn."""
    csr = make_csr(new_key())
    pending = create_ca(pca, "SUBORDINATE")
    with pytest.raises(ClientError) as e:
        issue(pca, pending, csr)
    assert code(e) == "InvalidStateException"
    root_pending = create_ca(pca, "ROOT")  # a pending root may sign only its own CSR
    with pytest.raises(ClientError) as e:
        issue(pca, root_pending, csr, ROOT_T)
    assert code(e) == "InvalidStateException"
    unknown = root[0].rsplit("/", 1)[0] + "/" + str(uuid.uuid4())
    with pytest.raises(ClientError) as e:
        issue(pca, unknown, csr)
    assert code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        issue(pca, root[0], b"-----BEGIN CERTIFICATE REQUEST-----\nnot a csr\n-----END CERTIFICATE REQUEST-----\n")
    assert code(e) == "MalformedCSRException"
    with pytest.raises(ClientError) as e:
        issue(pca, "arn:aws:acm-pca:us-east-1:123456789012:not-a-ca", csr)
    assert code(e) == "InvalidArnException"
    pca.update_certificate_authority(CertificateAuthorityArn=root_pending, Status="DISABLED")
    with pytest.raises(ClientError) as e:
        issue(pca, root_pending, csr)
    assert code(e) == "InvalidStateException"


def test_import_checks(pca, root):
    """patch import: the imported certificate must fit the CA key and its role."""
    root_arn, root_cert = root
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)  # noqa: E731
    other_root = create_ca(pca, "ROOT")
    with pytest.raises(ClientError) as e:  # not this CA's key
        pca.import_certificate_authority_certificate(CertificateAuthorityArn=other_root, Certificate=pem(root_cert))
    assert code(e) == "CertificateMismatchException"
    sub_arn = create_ca(pca, "SUBORDINATE")
    csr = pca.get_certificate_authority_csr(CertificateAuthorityArn=sub_arn)["Csr"].encode()
    sub_cert, _ = fetch(pca, root_arn, issue(pca, root_arn, csr, sub_t(0)))
    with pytest.raises(ClientError) as e:  # a subordinate needs its chain
        pca.import_certificate_authority_certificate(CertificateAuthorityArn=sub_arn, Certificate=pem(sub_cert))
    assert code(e) == "InvalidRequestException"
    leaf_arn = create_ca(pca, "SUBORDINATE")
    csr = pca.get_certificate_authority_csr(CertificateAuthorityArn=leaf_arn)["Csr"].encode()
    leaf, _ = fetch(pca, root_arn, issue(pca, root_arn, csr, EE_T))
    with pytest.raises(ClientError) as e:  # an end-entity certificate is no CA
        pca.import_certificate_authority_certificate(CertificateAuthorityArn=leaf_arn, Certificate=pem(leaf),
                                                     CertificateChain=pem(root_cert))
    assert code(e) == "ValidationException"
    assert status(pca, leaf_arn)["Status"] == "PENDING_CERTIFICATE"


def test_revoke(pca, root):
    """patches revoke, get_certificate: revoke by serial; revoked stays retrievable."""
    root_arn = root[0]
    cert_arn = issue(pca, root_arn, make_csr(new_key()))
    cert, _ = fetch(pca, root_arn, cert_arn)
    serial = ":".join(f"{b:02x}" for b in cert.serial_number.to_bytes(20, "big").lstrip(b"\0"))
    pca.revoke_certificate(CertificateAuthorityArn=root_arn, CertificateSerial=serial, RevocationReason="KEY_COMPROMISE")
    assert fetch(pca, root_arn, cert_arn)[0] == cert  # API ref: REVOKED certificates are retrievable
    with pytest.raises(ClientError) as e:
        pca.revoke_certificate(CertificateAuthorityArn=root_arn, CertificateSerial=format(cert.serial_number, "x"),
                               RevocationReason="KEY_COMPROMISE")
    assert code(e) == "RequestAlreadyProcessedException"
    with pytest.raises(ClientError) as e:
        pca.revoke_certificate(CertificateAuthorityArn=root_arn, CertificateSerial="01:02:03",
                               RevocationReason="KEY_COMPROMISE")
    assert code(e) == "ResourceNotFoundException"


def test_get_certificate_unknown(pca, root):
    """patch get_certificate: an unknown certificate ARN is ResourceNotFoundException (moto: HTTP 500)."""
    with pytest.raises(ClientError) as e:
        pca.get_certificate(CertificateAuthorityArn=root[0], CertificateArn=f"{root[0]}/certificate/{uuid.uuid4().hex}")
    assert code(e) == "ResourceNotFoundException"


def test_pending_polls_and_stats(pca, server, root):
    """patch get_certificate + control endpoint: RequestInProgressException N times per new certificate."""
    root_arn = root[0]
    control(server, "/_emulator/config", {"pending_polls": 2})
    cert_arn = issue(pca, root_arn, make_csr(new_key()))
    for _ in range(2):
        with pytest.raises(ClientError) as e:
            fetch(pca, root_arn, cert_arn)
        assert code(e) == "RequestInProgressException"
    fetch(pca, root_arn, cert_arn)
    fetch(pca, root_arn, cert_arn)  # ready stays ready
    stats = control(server, "/_emulator/stats")
    assert stats["calls"]["GetCertificate"] >= 4 and stats["issued"][root_arn] >= 1


def test_throttling_runtime_config(pca, server, root):
    """control endpoint: every Nth ACM-PCA call is ThrottlingException (HTTP 400); control never throttled."""
    control(server, "/_emulator/config", {"throttle_every": 2})
    before = control(server, "/_emulator/stats")["throttled"]
    outcomes = []
    for _ in range(4):
        try:
            pca.describe_certificate_authority(CertificateAuthorityArn=root[0])
            outcomes.append("ok")
        except ClientError as e:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
            outcomes.append(e.response["Error"]["Code"])
        control(server, "/_emulator/stats")  # must not count or throttle
    assert outcomes == ["ok", "ThrottlingException", "ok", "ThrottlingException"]
    assert control(server, "/_emulator/stats")["throttled"] == before + 2
    control(server, "/_emulator/config", {"throttle_every": 0})
    retrying = boto3.client("acm-pca", endpoint_url=server, region_name="us-east-1", aws_access_key_id="testing",
                            aws_secret_access_key="testing", config=Config(retries={"mode": "standard", "total_max_attempts": 3}))
    control(server, "/_emulator/config", {"throttle_every": 2})
    for _ in range(3):  # an SDK's standard retry gets through
        retrying.describe_certificate_authority(CertificateAuthorityArn=root[0])
    control(server, "/_emulator/config", {"throttle_every": 0})


def test_config_rejects_bad_values(server):
    with pytest.raises(urllib.error.HTTPError) as e:
        control(server, "/_emulator/config", {"throttle_every": -1})
    assert e.value.code == 400


def test_cli_flags_startup_and_stdin_eof():
    """serve.py: --throttle-every/--pending-polls at start, fast startup, exit on stdin EOF."""
    started = time.monotonic()
    proc, url = start_server("--throttle-every", "3", "--pending-polls", "1")
    try:
        assert time.monotonic() - started < 3
        assert control(url, "/_emulator/stats")["config"] == {"throttle_every": 3, "pending_polls": 1}
        pca = make_client(url)
        arn = create_ca(pca)  # call 1
        pca.get_certificate_authority_csr(CertificateAuthorityArn=arn)  # call 2
        with pytest.raises(ClientError) as e:  # call 3
            pca.describe_certificate_authority(CertificateAuthorityArn=arn)
        assert code(e) == "ThrottlingException"
        proc.stdin.close()
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            stop_server(proc)
