"""Make moto's ACM-PCA emulation behave like AWS Private CA where pca-mesh depends on it.

Importing this module monkeypatches ``moto.acmpca`` (written against moto 5.2.5) in
place; nothing is forked. Each patch below names the moto behaviour it replaces and
the AWS Private CA documentation it follows instead ("API ref" = the ACM-PCA API
Reference, whose text also ships in botocore's acm-pca service model; "guide" = the
AWS Private CA User Guide). Behaviour moto already gets right is left alone.

It also holds the emulator's run-time state (``EMULATOR``): call counters, certificates
issued per CA, idempotency tokens, and the ``throttle_every`` / ``pending_polls``
knobs that ``serve.py`` exposes on the command line and on ``/_emulator/config``.

``PCA_EXT_DISABLE=name,name`` (patch names from ``PATCHES``) skips patches: it exists
only so that ``test_pca_ext.py`` can be checked to fail when a patch is missing.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
import os
import re
import threading
import time
from collections import Counter
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from dateutil.relativedelta import relativedelta
from moto.acmpca.models import ACMPCABackend, CertificateAuthority
from moto.acmpca.responses import ACMPCAResponse
from moto.core.exceptions import JsonRESTError
from moto.core.utils import unix_time
from moto.moto_api._internal import mock_random

UTC = datetime.timezone.utc
PEM = serialization.Encoding.PEM


# --------------------------------------------------------------------------- state
class EmulatorState:
    """Counters and knobs shared by the patched models and serve.py's WSGI wrapper."""

    IDEMPOTENCY_SECONDS = 300  # API ref, IssueCertificate: tokens time out after 5 minutes

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.throttle_every = 0
        self.pending_polls = 0
        self.calls: Counter[str] = Counter()
        self.throttled = 0
        self.issued: Counter[str] = Counter()
        self._since_config = 0
        self.pending: dict[str, int] = {}  # certificate ARN -> RequestInProgress answers left
        self.tokens: dict[tuple[str, str, str], tuple[str, float]] = {}

    def configure(self, throttle_every: int | None = None, pending_polls: int | None = None) -> None:
        with self.lock:
            if throttle_every is not None:
                self.throttle_every, self._since_config = throttle_every, 0
            if pending_polls is not None:
                self.pending_polls = pending_polls

    def count_call(self, operation: str) -> bool:
        """Record one ACM-PCA call; True when this call must answer ThrottlingException."""
        with self.lock:
            self.calls[operation] += 1
            self._since_config += 1
            throttle = self.throttle_every > 0 and self._since_config % self.throttle_every == 0
            self.throttled += throttle
            return throttle

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "calls": dict(self.calls),
                "throttled": self.throttled,
                "issued": dict(self.issued),
                "config": {"throttle_every": self.throttle_every, "pending_polls": self.pending_polls},
            }


EMULATOR = EmulatorState()


# ------------------------------------------------------------------------- helpers
def _err(kind: str, message: str) -> JsonRESTError:
    return JsonRESTError(kind, message)  # HTTP 400, JSON body with __type, as AWS sends


TEMPLATE_ARN = re.compile(r"^arn:aws[\w-]*:acm-pca:::template/(.+)$")
CA_ARN = re.compile(r"^arn:aws[\w-]*:acm-pca:[a-z0-9-]+:\d{12}:certificate-authority/[\w-]+$")
CERT_ARN = re.compile(r"^arn:aws[\w-]*:acm-pca:[a-z0-9-]+:\d{12}:certificate-authority/[\w-]+/certificate/[\w-]+$")

ROOT_TEMPLATE = "RootCACertificate/V1"
# guide, "Template definitions": name -> (CA?, pathLenConstraint, SAN passed through from CSR)
TEMPLATES: dict[str, tuple[bool, int | None, bool]] = {
    ROOT_TEMPLATE: (True, None, False),
    **{f"SubordinateCACertificate_PathLen{n}/V1": (True, n, True) for n in range(4)},
    "EndEntityCertificate/V1": (False, None, True),
}
_KU = dict(content_commitment=False, data_encipherment=False, key_agreement=False,
           encipher_only=False, decipher_only=False)
KU_CA = x509.KeyUsage(digital_signature=True, key_encipherment=False, key_cert_sign=True, crl_sign=True, **_KU)
KU_EE = x509.KeyUsage(digital_signature=True, key_encipherment=True, key_cert_sign=False, crl_sign=False, **_KU)
EKU_EE = x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH, x509.ExtendedKeyUsageOID.CLIENT_AUTH])

KEY_ALGORITHMS = {
    "RSA_2048": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "RSA_4096": lambda: rsa.generate_private_key(public_exponent=65537, key_size=4096),
    "EC_prime256v1": lambda: ec.generate_private_key(ec.SECP256R1()),
    "EC_secp384r1": lambda: ec.generate_private_key(ec.SECP384R1()),
}
SIGNING_ALGORITHMS = {  # name -> (key family, hash, RSA-PSS?)
    f"SHA{bits}WITH{fam}{pss}": (fam, getattr(hashes, f"SHA{bits}"), bool(pss))
    for bits in (256, 384, 512)
    for fam, pss in (("RSA", ""), ("ECDSA", ""), ("RSA", "_PSS"))
}
USAGE_MODES = ("GENERAL_PURPOSE", "SHORT_LIVED_CERTIFICATE")
SUBJECT_FIELDS = [  # CertificateAuthorityConfiguration.Subject member -> OID
    ("Country", x509.NameOID.COUNTRY_NAME), ("State", x509.NameOID.STATE_OR_PROVINCE_NAME),
    ("Locality", x509.NameOID.LOCALITY_NAME), ("Organization", x509.NameOID.ORGANIZATION_NAME),
    ("OrganizationalUnit", x509.NameOID.ORGANIZATIONAL_UNIT_NAME),
    ("DistinguishedNameQualifier", x509.NameOID.DN_QUALIFIER), ("CommonName", x509.NameOID.COMMON_NAME),
    ("SerialNumber", x509.NameOID.SERIAL_NUMBER), ("Title", x509.NameOID.TITLE),
    ("Surname", x509.NameOID.SURNAME), ("GivenName", x509.NameOID.GIVEN_NAME),
    ("Initials", x509.NameOID.INITIALS), ("Pseudonym", x509.NameOID.PSEUDONYM),
    ("GenerationQualifier", x509.NameOID.GENERATION_QUALIFIER),
]


def _family(key: Any) -> str:
    return "RSA" if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)) else "ECDSA"


def _spki(key: Any) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _sign(builder: Any, key: Any, algorithm: str) -> Any:
    fam, digest, pss = SIGNING_ALGORITHMS[algorithm]
    if pss:
        pad = padding.PSS(mgf=padding.MGF1(digest()), salt_length=digest.digest_size)
        return builder.sign(key, digest(), rsa_padding=pad)
    return builder.sign(key, digest())


def _pem_blocks(data: bytes | str | None) -> bytes:
    """A CA's stored chain (the wire's base64 of PEM, as moto keeps it) as PEM bytes."""
    if not data:
        return b""
    if isinstance(data, str):
        data = data.encode()
    if b"-----BEGIN" not in data:
        data = base64.b64decode(data)
    return data.strip()


def _load_certs(data: bytes) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        certs = []
    if not certs:
        raise _err("MalformedCertificateException", "One or more fields in the certificate are invalid.")
    return certs


def _basic_constraints(cert: x509.Certificate) -> x509.Extension | None:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return None


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False


def _self_signed(cert: x509.Certificate) -> bool:
    return _signed_by(cert, cert)


# --------------------------------------------------------------------------- patches
PATCHES: dict[str, Any] = {}


def patch(name: str):
    def register(fn):
        PATCHES[name] = fn
        return fn
    return register


@patch("ca_keys")
def _patch_ca_keys() -> None:
    """moto gives every CA an RSA-2048 key whatever KeyAlgorithm says, signs its CSR with
    SHA-256 whatever SigningAlgorithm says, drops most Subject fields, and reports every
    CA as SHORT_LIVED_CERTIFICATE. API ref, CertificateAuthorityConfiguration: the CA's
    key is of KeyAlgorithm (RSA_2048, RSA_4096, EC_prime256v1, EC_secp384r1), the
    SigningAlgorithm must suit that key (guide, "Troubleshoot exceptions":
    InvalidArgsException otherwise), and UsageMode defaults to GENERAL_PURPOSE."""
    original_init = CertificateAuthority.__init__

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        config = self.certificate_authority_configuration or {}
        key_alg, sig_alg = config.get("KeyAlgorithm"), config.get("SigningAlgorithm")
        if self.certificate_authority_type not in ("ROOT", "SUBORDINATE"):
            raise _err("InvalidArgsException", f"Invalid CertificateAuthorityType {self.certificate_authority_type!r}.")
        if key_alg not in KEY_ALGORITHMS:
            raise _err("InvalidArgsException", f"Unsupported KeyAlgorithm {key_alg!r}.")
        key = KEY_ALGORITHMS[key_alg]()
        if sig_alg not in SIGNING_ALGORITHMS or SIGNING_ALGORITHMS[sig_alg][0] != _family(key):
            raise _err("InvalidArgsException", f"SigningAlgorithm {sig_alg!r} cannot be used with KeyAlgorithm {key_alg}.")
        self._emulator_key = key
        self.private_bytes = key.private_bytes(  # kept in step for any moto code reading it
            PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(self.password))
        self.usage_mode = "GENERAL_PURPOSE"

    def subject_name(self) -> x509.Name:
        subject = self.subject or {}
        return x509.Name([x509.NameAttribute(oid, subject[k]) for k, oid in SUBJECT_FIELDS if k in subject])

    def csr(self) -> bytes:
        builder = (x509.CertificateSigningRequestBuilder().subject_name(self.issuer)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True))
        return _sign(builder, self.key, self.certificate_authority_configuration["SigningAlgorithm"]).public_bytes(PEM)

    CertificateAuthority.__init__ = __init__
    CertificateAuthority.key = property(lambda self: self._emulator_key)
    CertificateAuthority.issuer = property(subject_name)
    CertificateAuthority.csr = property(csr)


@patch("usage_mode")
def _patch_usage_mode() -> None:
    """moto ignores CreateCertificateAuthority's UsageMode. API ref: GENERAL_PURPOSE or
    SHORT_LIVED_CERTIFICATE, default GENERAL_PURPOSE, reported by Describe."""
    original = ACMPCAResponse.create_certificate_authority

    def create_certificate_authority(self: ACMPCAResponse) -> str:
        mode = json.loads(self.body).get("UsageMode") or "GENERAL_PURPOSE"
        if mode not in USAGE_MODES:
            raise _err("ValidationException", f"Invalid UsageMode {mode!r}.")
        out = original(self)
        self.acmpca_backend.certificate_authorities[json.loads(out)["CertificateAuthorityArn"]].usage_mode = mode
        return out

    ACMPCAResponse.create_certificate_authority = create_certificate_authority


@patch("arn_check")
def _patch_arn_check() -> None:
    """moto answers ResourceNotFoundException for any string. API ref: an ARN that is not
    a well-formed CA ARN is InvalidArnException; only a well-formed unknown one is
    ResourceNotFoundException (moto's, kept). Every CA operation goes through here."""
    original = ACMPCABackend.describe_certificate_authority

    def describe_certificate_authority(self: ACMPCABackend, certificate_authority_arn: str) -> Any:
        if not isinstance(certificate_authority_arn, str) or not CA_ARN.match(certificate_authority_arn):
            raise _err("InvalidArnException", f"The ARN {certificate_authority_arn!r} is not a valid certificate authority ARN.")
        return original(self, certificate_authority_arn)

    ACMPCABackend.describe_certificate_authority = describe_certificate_authority


def _load_csr(csr_b64: bytes) -> x509.CertificateSigningRequest:
    try:
        request = x509.load_pem_x509_csr(base64.b64decode(csr_b64, validate=True))
        if not isinstance(request.public_key(), (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
            raise ValueError("unsupported key")
        if not request.is_signature_valid:
            raise ValueError("bad signature")
        return request
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm) as e:
        raise _err("MalformedCSRException", f"The certificate signing request is invalid: {e}.") from None


def _not_after(ca: CertificateAuthority, validity: Any, now: datetime.datetime,
               self_signing: bool) -> datetime.datetime:
    """API ref, Validity: Type DAYS/MONTHS/YEARS (span from issuance), END_DATE
    (YYYYMMDDHHMMSS) or ABSOLUTE (unix seconds)."""
    if not isinstance(validity, dict) or "Type" not in validity or "Value" not in validity:
        raise _err("ValidationException", "Validity (Type and Value) is required.")
    kind, value = validity["Type"], validity["Value"]
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise _err("ValidationException", f"Invalid Validity Value {value!r}.")
    try:
        end = {
            "DAYS": lambda: now + datetime.timedelta(days=value),
            "MONTHS": lambda: now + relativedelta(months=value),
            "YEARS": lambda: now + relativedelta(years=value),
            "END_DATE": lambda: datetime.datetime.strptime(str(value), "%Y%m%d%H%M%S").replace(tzinfo=UTC),
            "ABSOLUTE": lambda: datetime.datetime.fromtimestamp(value, UTC),
        }[kind]()
    except KeyError:
        raise _err("ValidationException", f"Invalid Validity Type {kind!r}.") from None
    except (ValueError, OverflowError):
        raise _err("ValidationException", f"Invalid Validity {validity!r}.") from None
    if end <= now:
        raise _err("ValidationException", "The certificate validity must end in the future.")
    # API ref, UsageMode: "Short-lived certificate validity is limited to seven days." That
    # bounds what the CA issues (the guide's subordinate CA too), not its own root certificate.
    if not self_signing and ca.usage_mode == "SHORT_LIVED_CERTIFICATE" and end - now > datetime.timedelta(days=7):
        raise _err("ValidationException", "A CA in SHORT_LIVED_CERTIFICATE mode issues certificates valid for at most 7 days.")
    # guide, "RFC compliance": no Not After later than the issuing CA certificate's.
    if ca.certificate is not None and end > ca.certificate.not_valid_after_utc:
        raise _err("ValidationException", "The certificate validity exceeds the validity of the issuing CA certificate.")
    return end


@patch("issue")
def _patch_issue() -> None:
    """moto's IssueCertificate ignores Validity (always 365 days), SigningAlgorithm (always
    SHA-512), IdempotencyToken and the CA's state; gives subordinate-CA templates no
    extensions at all, root certificates no AKI, and every issued certificate a chain of
    the CA certificate alone; names the issuer from the CA configuration rather than the
    CA certificate; and fails with HTTP 500 on a malformed CSR. Here it follows the
    guide's template definitions and the API ref (see each check below)."""

    def issue_certificate(self: ACMPCABackend, certificate_authority_arn: str, csr: bytes,
                          template_arn: str | None = None, validity: Any = None,
                          signing_algorithm: str | None = None, idempotency_token: str | None = None) -> str:
        ca = self.describe_certificate_authority(certificate_authority_arn)
        # API ref: no TemplateArn means EndEntityCertificate/V1.
        match = TEMPLATE_ARN.match(template_arn or "arn:aws:acm-pca:::template/EndEntityCertificate/V1")
        if not match or match.group(1) not in TEMPLATES:
            raise _err("InvalidArgsException", f"The emulator does not support template {template_arn!r}.")
        template = match.group(1)
        request = _load_csr(csr)
        # Root bootstrap: a ROOT CA still PENDING_CERTIFICATE may sign its own CSR with the
        # root template (guide, "Create a root CA"); anything else needs an ACTIVE CA.
        self_signing = (template == ROOT_TEMPLATE and ca.certificate_authority_type == "ROOT"
                        and ca.status == "PENDING_CERTIFICATE"
                        and _spki(request.public_key()) == _spki(ca.key.public_key()))
        if ca.status != "ACTIVE" and not self_signing:
            raise _err("InvalidStateException", f"The certificate authority {ca.arn} is in state {ca.status}, not ACTIVE.")
        if signing_algorithm not in SIGNING_ALGORITHMS:
            raise _err("ValidationException", f"Invalid SigningAlgorithm {signing_algorithm!r}.")
        if SIGNING_ALGORITHMS[signing_algorithm][0] != _family(ca.key):
            raise _err("InvalidArgsException", f"SigningAlgorithm {signing_algorithm} cannot be used with the CA's "
                       f"{ca.certificate_authority_configuration.get('KeyAlgorithm')} key.")
        now = datetime.datetime.now(UTC).replace(microsecond=0)
        not_after = _not_after(ca, validity, now, self_signing)
        issuing = None if self_signing else ca.certificate
        is_ca, path_len, copy_san = TEMPLATES[template]
        if is_ca and issuing is not None:  # guide, "RFC compliance": path length enforced
            bc = _basic_constraints(issuing)
            limit = bc.value.path_length if bc else None
            if limit is not None and (path_len is None or path_len >= limit):
                raise _err("ValidationException", f"Template {template} would violate the issuing CA's path length constraint {limit}.")

        with EMULATOR.lock:
            token_key = (ca.arn, idempotency_token or "", hashlib.sha256(request.public_bytes(PEM)).hexdigest())
            if idempotency_token:
                arn, at = EMULATOR.tokens.get(token_key, ("", 0.0))
                if arn and time.time() - at < EMULATOR.IDEMPOTENCY_SECONDS:
                    return arn
            builder = (x509.CertificateBuilder().subject_name(request.subject)
                       .issuer_name(issuing.subject if issuing else request.subject)
                       .public_key(request.public_key()).serial_number(x509.random_serial_number())
                       # API ref, ValidityNotBefore: by default "Not Before" is issuance time minus 60 minutes.
                       .not_valid_before(now - datetime.timedelta(minutes=60)).not_valid_after(not_after)
                       .add_extension(x509.BasicConstraints(ca=is_ca, path_length=path_len), critical=True)
                       .add_extension(KU_CA if is_ca else KU_EE, critical=True)
                       .add_extension(x509.SubjectKeyIdentifier.from_public_key(request.public_key()), critical=False))
            try:  # AKI = the issuing CA certificate's SKI (guide, template definitions)
                ski = issuing.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value  # type: ignore[union-attr]
                aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
            except (AttributeError, x509.ExtensionNotFound):
                aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key())
            builder = builder.add_extension(aki, critical=False)
            if not is_ca:
                builder = builder.add_extension(EKU_EE, critical=False)
            if copy_san:
                try:
                    san = request.extensions.get_extension_for_class(x509.SubjectAlternativeName)
                    builder = builder.add_extension(san.value, critical=san.critical)
                except x509.ExtensionNotFound:
                    pass
            cert = _sign(builder, ca.key, signing_algorithm)

            arn = f"{ca.arn}/certificate/{mock_random.uuid4().hex}"
            ca.issued_certificates[arn] = cert.public_bytes(PEM)
            # API ref, GetCertificate: the chain is the issuing CA certificate followed by
            # its own chain, root last; a self-signed root certificate has none.
            if issuing is not None:
                ca.issued_certificates_certificate_chains[arn] = b"\n".join(
                    p for p in (ca.certificate_bytes.strip(), _pem_blocks(ca.certificate_chain)) if p)
            EMULATOR.issued[ca.arn] += 1
            EMULATOR.pending[arn] = EMULATOR.pending_polls
            if idempotency_token:
                EMULATOR.tokens[token_key] = (arn, time.time())
            return arn

    def issue_certificate_response(self: ACMPCAResponse) -> str:
        params = json.loads(self.body)
        if not params.get("Csr"):
            raise _err("ValidationException", "Csr is required.")
        arn = self.acmpca_backend.issue_certificate(
            certificate_authority_arn=params.get("CertificateAuthorityArn"),
            csr=params["Csr"].encode(), template_arn=params.get("TemplateArn"),
            validity=params.get("Validity"), signing_algorithm=params.get("SigningAlgorithm"),
            idempotency_token=params.get("IdempotencyToken"))
        return json.dumps({"CertificateArn": arn})

    ACMPCABackend.issue_certificate = issue_certificate
    ACMPCAResponse.issue_certificate = issue_certificate_response


@patch("import")
def _patch_import() -> None:
    """moto imports anything that parses (raising a non-AWS MalformedCertificateAuthority
    error otherwise) and stores the chain as the wire's base64. API ref,
    ImportCertificateAuthorityCertificate: the certificate must be for the CA's own key
    (CertificateMismatchException), a root CA takes only a self-signed certificate, a
    subordinate never one, the chain must not contain the CA certificate and must end
    with the root; guide, "RFC compliance": basic constraints must be critical with
    CA:TRUE and path lengths hold, else a validation exception."""

    def import_certificate_authority_certificate(self: ACMPCABackend, certificate_authority_arn: str,
                                                 certificate: bytes, certificate_chain: bytes | None) -> None:
        ca = self.describe_certificate_authority(certificate_authority_arn)
        if ca.status not in ("PENDING_CERTIFICATE", "ACTIVE", "DISABLED"):
            raise _err("InvalidStateException", f"The certificate authority {ca.arn} is in state {ca.status}.")
        cert = _load_certs(certificate)[0]
        chain = _load_certs(certificate_chain) if certificate_chain else []
        if _spki(cert.public_key()) != _spki(ca.key.public_key()):
            raise _err("CertificateMismatchException", "The certificate does not match the private CA's key (its CSR).")
        if ca.certificate_authority_type == "ROOT":
            if not _self_signed(cert) or chain:
                raise _err("InvalidRequestException", "Only a self-signed certificate, without a chain, can be imported as a root CA.")
        else:
            if _self_signed(cert):
                raise _err("InvalidRequestException", "A self-signed certificate cannot be imported as a subordinate CA.")
            if not chain or any(c == cert for c in chain) or not _self_signed(chain[-1]):
                raise _err("InvalidRequestException", "The chain must hold the issuing CAs up to the root (last), and not the CA certificate.")
        path = [cert, *chain]
        for below, (child, parent) in enumerate(zip(path, path[1:])):
            if not _signed_by(child, parent):
                raise _err("CertificateMismatchException", f"Certificate {below} of the path is not signed by the next one.")
        for below, c in enumerate(path):
            bc = _basic_constraints(c)
            if bc is None or not bc.critical or not bc.value.ca:
                raise _err("ValidationException", "CA certificates must carry a critical basic constraints extension with CA:TRUE.")
            if bc.value.path_length is not None and bc.value.path_length < below:
                raise _err("ValidationException", "The chain violates a path length constraint.")
        ca.certificate_bytes = cert.public_bytes(PEM)
        # Stored as the wire's base64 of the PEM, the form moto's GetCertificateAuthorityCertificate
        # decodes (it then answers the chain, root last, and none for a root CA, as AWS does).
        ca.certificate_chain = base64.b64encode(b"".join(c.public_bytes(PEM) for c in chain)) if chain else None
        ca.status = "ACTIVE"
        ca.updated_at = unix_time()

    def import_response(self: ACMPCAResponse) -> str:
        params = json.loads(self.body)

        def blob(name: str) -> bytes | None:
            try:
                return base64.b64decode(params[name], validate=True) if params.get(name) else None
            except (binascii.Error, TypeError):
                raise _err("MalformedCertificateException", f"{name} is not valid base64.") from None

        certificate = blob("Certificate")
        if certificate is None:
            raise _err("ValidationException", "Certificate is required.")
        self.acmpca_backend.import_certificate_authority_certificate(
            certificate_authority_arn=params.get("CertificateAuthorityArn"),
            certificate=certificate, certificate_chain=blob("CertificateChain"))
        return "{}"

    ACMPCABackend.import_certificate_authority_certificate = import_certificate_authority_certificate
    ACMPCAResponse.import_certificate_authority_certificate = import_response


@patch("get_certificate")
def _patch_get_certificate() -> None:
    """moto answers RequestInProgressException for a revoked certificate and HTTP 500 for
    an unknown one. API ref, GetCertificate: a certificate is retrievable when ISSUED,
    EXPIRED or REVOKED; unknown is ResourceNotFoundException; not yet ready is
    RequestInProgressException (here: the first ``pending_polls`` calls per certificate)."""

    def get_certificate(self: ACMPCABackend, certificate_authority_arn: str, certificate_arn: str) -> tuple[bytes, bytes]:
        ca = self.describe_certificate_authority(certificate_authority_arn)
        if not isinstance(certificate_arn, str) or not CERT_ARN.match(certificate_arn):
            raise _err("InvalidArnException", f"The ARN {certificate_arn!r} is not a valid certificate ARN.")
        if certificate_arn not in ca.issued_certificates:
            raise _err("ResourceNotFoundException", f"Certificate {certificate_arn} was not issued by {ca.arn}.")
        with EMULATOR.lock:
            left = EMULATOR.pending.get(certificate_arn, 0)
            if left > 0:
                EMULATOR.pending[certificate_arn] = left - 1
                raise _err("RequestInProgressException", "The request to issue the certificate is still in progress.")
        return ca.get_certificate(certificate_arn)

    ACMPCABackend.get_certificate = get_certificate


@patch("revoke")
def _patch_revoke() -> None:
    """moto records any string as a revoked serial. API ref, RevokeCertificate: the
    serial is hexadecimal as openssl prints it (colons optional); a serial the CA did not
    issue is not found, and a second revocation is RequestAlreadyProcessedException."""
    original = ACMPCABackend.revoke_certificate

    def revoke_certificate(self: ACMPCABackend, certificate_authority_arn: str,
                           certificate_serial: str, revocation_reason: str) -> None:
        ca = self.describe_certificate_authority(certificate_authority_arn)
        try:
            serial = int(str(certificate_serial).replace(":", ""), 16)
        except ValueError:
            raise _err("InvalidRequestException", f"CertificateSerial {certificate_serial!r} is not hexadecimal.") from None
        issued = {x509.load_pem_x509_certificate(p).serial_number for p in ca.issued_certificates.values()}
        if ca.status == "ACTIVE" and serial not in issued:
            raise _err("ResourceNotFoundException", f"No certificate with serial {certificate_serial} was issued by {ca.arn}.")
        key = format(serial, "x")
        if key in ca.revoked_certificates:
            raise _err("RequestAlreadyProcessedException", "Your request has already been completed.")
        original(self, certificate_authority_arn, key, revocation_reason)  # moto's state check, record

    ACMPCABackend.revoke_certificate = revoke_certificate


def apply(disabled: set[str] | None = None) -> None:
    """Apply every patch not named in ``disabled`` (default: $PCA_EXT_DISABLE)."""
    if disabled is None:
        disabled = {n.strip() for n in os.environ.get("PCA_EXT_DISABLE", "").split(",") if n.strip()}
    for name, fn in PATCHES.items():
        if name not in disabled:
            fn()


apply()
