"""A live Certomancer PKI (CA, OCSP, CRL, TSA over HTTP on 127.0.0.1) and an app signing with it.

``local_pki`` serves a fresh PKI for one test (a test may revoke a certificate); the keys are
generated once per run. ``ltv_app`` points the app's signing certificates, trust roots and TSA
at it, so that "Phát hành" makes PAdES B-LTA.
"""

from __future__ import annotations

import pytest

from danvan.pki_services import LocalPki, start_local_pki

P12_PASSWORD = "ltv-demo"


@pytest.fixture(scope="session")
def pki_key_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("certomancer-keys")


@pytest.fixture
def local_pki(pki_key_dir):
    pki = start_local_pki(pki_key_dir)
    yield pki
    pki.stop()


def configure_app(app, pki: LocalPki, tmp_path) -> None:
    """Sign as the PKI's director and agency, trust its root, timestamp with its TSA."""
    certificates = {}
    for name in ("director", "agency"):
        path = tmp_path / f"{name}.p12"
        path.write_bytes(pki.pkcs12(name, P12_PASSWORD.encode()))
        certificates[name] = {"pkcs12": str(path), "password": P12_PASSWORD}
    root = tmp_path / "ltv-root.pem"
    root.write_bytes(pki.root_pem())
    app.config["SIGNING_CERTIFICATES"] = certificates
    app.config["TRUST_ROOTS"] = [str(root)]
    app.config["SIGNING_TSA_URL"] = pki.tsa_url


@pytest.fixture
def ltv_app(app, local_pki, tmp_path):
    configure_app(app, local_pki, tmp_path)
    return app
