"""A live local PKI for tests and the demo: a root CA, the director's and the agency's
certificates, an OCSP responder, a CRL and an RFC 3161 time-stamping authority (Certomancer),
served over HTTP on 127.0.0.1.

Demo only: the keys are generated on the spot and lie unprotected in a directory. A real
agency uses its CA's OCSP/CRL services and a licensed TSA (see README, long-term validation).
The certificates embed the services' URLs, so the server's port is chosen first and the
configuration built around it; revoking a certificate rebuilds the configuration (same keys,
same certificates, byte for byte) with that certificate revoked, and swaps it in.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from certomancer.integrations.animator import Animator, AnimatorArchStore
from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig, KeyLabel
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore
from werkzeug.serving import WSGIRequestHandler, make_server

ARCH = "danvan"
KEYS = ("root", "ocsp", "tsa", "director", "agency")
VALID_FROM = "2020-01-01T00:00:00+0000"
SIGNER_VALID_TO = "2036-01-01T00:00:00+0000"
TSA_VALID_TO = "2031-01-01T00:00:00+0000"
ROOT_VALID_TO = "2046-01-01T00:00:00+0000"
DEFAULT_NAMES = {
    "root": "Tổ chức chứng thực thử nghiệm danvan",
    "ocsp": "Dịch vụ OCSP thử nghiệm",
    "tsa": "Dịch vụ cấp dấu thời gian thử nghiệm",
    "director": "Nguyễn Quang Huy - Giám đốc",
    "agency": "Sở Xây dựng tỉnh Hà Nam",
}


def _write_keys(key_dir: Path) -> None:
    key_dir.mkdir(parents=True, exist_ok=True)
    for label in KEYS:
        path = key_dir / f"{label}.key.pem"
        if path.exists():
            continue
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)


def _key_usage(*usages: str) -> dict:
    return {
        "id": "key_usage",
        "critical": True,
        "smart-value": {"schema": "key-usage", "params": list(usages)},
    }


_CRL_DP = {"schema": "crl-dist-url", "params": {"crl-repo-names": ["root"]}}
_AIA = {"schema": "aia-urls", "params": {"ocsp-responder-names": ["root"]}}
_REVOCATION_URLS = [
    {"id": "crl_distribution_points", "smart-value": _CRL_DP},
    {"id": "authority_information_access", "smart-value": _AIA},
]


def certomancer_config(
    base_url: str, names: dict[str, str], revoked: dict[str, datetime] | None = None
) -> dict:
    """The Certomancer configuration: services under ``base_url``, ``revoked`` label → since."""
    revoked = revoked or {}

    def signer_cert(label: str) -> dict:
        spec = {
            "subject": label,
            "issuer": "root",
            "validity": {"valid-from": VALID_FROM, "valid-to": SIGNER_VALID_TO},
            "extensions": [_key_usage("digital_signature", "non_repudiation"), *_REVOCATION_URLS],
        }
        if label in revoked:
            since = revoked[label].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
            spec["revocation"] = {"revoked-since": since, "reason": "key_compromise"}
        return spec

    return {
        "external-url-prefix": base_url,
        "keysets": {
            ARCH: {"keys": {label: {"path": f"{label}.key.pem"} for label in KEYS}},
        },
        "pki-architectures": {
            ARCH: {
                "keyset": ARCH,
                "entity-defaults": {"country-name": "VN", "organization-name": names["agency"]},
                "entities": {label: {"common-name": names[label]} for label in KEYS},
                "certs": {
                    "root": {
                        "subject": "root",
                        "issuer": "root",
                        "validity": {"valid-from": VALID_FROM, "valid-to": ROOT_VALID_TO},
                        "extensions": [
                            {"id": "basic_constraints", "critical": True, "value": {"ca": True}},
                            _key_usage("digital_signature", "key_cert_sign", "crl_sign"),
                        ],
                    },
                    # A responder of its own, exempt from checks (a CA answering for itself
                    # makes pyHanko's long-term validation look for the root's status).
                    "ocsp": {
                        "subject": "ocsp",
                        "issuer": "root",
                        "validity": {"valid-from": VALID_FROM, "valid-to": ROOT_VALID_TO},
                        "extensions": [
                            _key_usage("digital_signature"),
                            {
                                "id": "extended_key_usage",
                                "critical": True,
                                "value": ["ocsp_signing"],
                            },
                            {"id": "ocsp_no_check"},
                        ],
                    },
                    "tsa": {
                        "subject": "tsa",
                        "issuer": "root",
                        "validity": {"valid-from": VALID_FROM, "valid-to": TSA_VALID_TO},
                        "extensions": [
                            _key_usage("digital_signature"),
                            {
                                "id": "extended_key_usage",
                                "critical": True,
                                "value": ["time_stamping"],
                            },
                            *_REVOCATION_URLS,
                        ],
                    },
                    "director": signer_cert("director"),
                    "agency": signer_cert("agency"),
                },
                "services": {
                    "ocsp": {
                        "root": {
                            "for-issuer": "root",
                            "responder-cert": "ocsp",
                            "signing-key": "ocsp",
                        }
                    },
                    "crl-repo": {
                        "root": {
                            "for-issuer": "root",
                            "signing-key": "root",
                            "simulated-update-schedule": "P7D",
                        }
                    },
                    "time-stamping": {"tsa": {"signing-key": "tsa", "signing-cert": "tsa"}},
                },
            }
        },
    }


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # no access log on the test output
        pass


class _Dispatcher:
    """The WSGI app the server runs: the current Animator (swapped when a cert is revoked)."""

    def __init__(self):
        self.animator = None

    def __call__(self, environ, start_response):
        return self.animator(environ, start_response)


@dataclass
class LocalPki:
    """A running Certomancer PKI: its URLs, certificates and keys, and its HTTP server."""

    key_dir: Path
    names: dict[str, str]
    base_url: str = ""
    revoked: dict[str, datetime] = field(default_factory=dict)
    config: CertomancerConfig | None = None
    _server: object = None
    _thread: threading.Thread | None = None
    _app: _Dispatcher = field(default_factory=_Dispatcher)

    @property
    def arch(self):
        return self.config.get_pki_arch(ArchLabel(ARCH))

    @property
    def tsa_url(self) -> str:
        return f"{self.base_url}/{ARCH}/tsa/tsa"

    def cert(self, label: str) -> asn1_x509.Certificate:
        """The certificate ``label`` ("root", "tsa", "director", "agency")."""
        return self.arch.get_cert(CertLabel(label))

    def root_pem(self) -> bytes:
        """The root CA certificate, PEM (what TRUST_ROOTS names)."""
        from cryptography import x509

        return x509.load_der_x509_certificate(self.cert("root").dump()).public_bytes(
            serialization.Encoding.PEM
        )

    def pkcs12(self, label: str, password: bytes) -> bytes:
        """The certificate ``label`` with its key and chain, as PKCS#12."""
        return self.arch.package_pkcs12(CertLabel(label), password=password)

    def signer(self, label: str) -> signers.SimpleSigner:
        """A pyHanko signer for ``label`` with its chain."""
        key = self.arch.key_set.get_private_key(KeyLabel(label))
        chain = [self.arch.get_cert(c) for c in self.arch.get_chain(CertLabel(label))]
        return signers.SimpleSigner(
            signing_cert=self.cert(label),
            signing_key=key,
            cert_registry=SimpleCertificateStore.from_certs(chain),
        )

    def _load(self) -> None:
        self.config = CertomancerConfig(
            certomancer_config(self.base_url, self.names, self.revoked),
            key_search_dir=str(self.key_dir),
        )
        self._app.animator = Animator(
            AnimatorArchStore(self.config.pki_archs), with_web_ui=False, allow_time_override=False
        )

    def revoke(self, label: str, since: datetime | None = None) -> None:
        """Revoke certificate ``label`` from ``since`` (default now) in the running services."""
        self.revoked[label] = since or datetime.now(UTC)
        self._load()

    def start(self, host: str = "127.0.0.1", port: int = 0) -> LocalPki:
        """Serve the PKI over HTTP on ``host`` (a free port when 0), in a daemon thread."""
        _write_keys(self.key_dir)
        self._server = make_server(
            host, port, self._app, threaded=True, request_handler=_QuietHandler
        )
        self.base_url = f"http://{host}:{self._server.server_port}"
        self._load()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the HTTP server."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def start_local_pki(key_dir: str | Path, names: dict[str, str] | None = None, **kw) -> LocalPki:
    """Generate (once) the keys in ``key_dir`` and serve the PKI; ``kw`` go to LocalPki.start."""
    pki = LocalPki(Path(key_dir), {**DEFAULT_NAMES, **(names or {})})
    return pki.start(**kw)


def main(argv: list[str] | None = None) -> None:
    """``python -m danvan.pki_services DIR [--port N]``: serve the demo PKI until Ctrl+C and
    print the configuration that signs with it (PKCS#12 files and root written to DIR)."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description="PKI thử nghiệm (Certomancer) cho bản demo.")
    parser.add_argument("directory")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    base = Path(args.directory)
    pki = start_local_pki(base / "keys", port=args.port)
    password = "demo"
    certificates = {}
    for name in ("director", "agency"):
        path = base / f"{name}.p12"
        path.write_bytes(pki.pkcs12(name, password.encode()))
        path.chmod(0o600)
        certificates[name] = {"pkcs12": str(path.resolve()), "password": password}
    (base / "root.pem").write_bytes(pki.root_pem())
    print(f"SIGNING_CERTIFICATES = {certificates!r}")
    print(f"TRUST_ROOTS = [{str((base / 'root.pem').resolve())!r}]")
    print(f"SIGNING_TSA_URL = {pki.tsa_url!r}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pki.stop()


if __name__ == "__main__":
    main()
