"""The estate's own certificate authority, and the certificates it signs (``cryptography``).

Why an own CA: the broker link crosses the estate's cables, where anyone with a laptop can
read and forge plain MQTT. The broker proves itself with a server certificate and every
gate with a client certificate, both signed by a CA only the hub holds, so neither side
needs the public web's CAs, and a certificate from anywhere else is refused.

Layout of ``[broker] pki_dir`` (mosquitto reads the top level; nobody but the hub reads ca/):

    ca/ca.key                  the CA's private key, 0600 in a 0700 directory
    ca.crt                     the CA certificate (public; every gate trusts it)
    crl.pem                    certificates revoked (retired gates, replaced certificates)
    server.crt, server.key     the broker's certificate; the key 0640, group mosquitto
    passwd, acl                mosquitto's password and ACL files (hub.broker.logins)
    gates/GATE/                what goes to the gate's Pi: ca.crt, GATE.crt, GATE.key (0600)
    hub/                       the hub's own client files, for a hub on another host (ca hub)

Keys are P-256 EC: small, fast on a Pi, supported by every TLS 1.2+ peer.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hub.broker.files import BROKER_READS, PUBLIC, SECRET, ensure_dir, set_group, write_atomic
from hub.errors import Conflict, NotFound

CA_DAYS = 20 * 365
SERVER_DAYS = 5 * 365
GATE_DAYS = 10 * 365
#: a CRL past its next update makes OpenSSL refuse every client; the hub rewrites it on
#: every change, and ``gate-hub broker write`` renews it
CRL_DAYS = 5 * 365
#: certificates are valid from a little before now: a Pi whose clock lags still accepts them
BACKDATE = timedelta(hours=1)


class PkiError(Conflict):
    rule = "pki"


@dataclass(frozen=True)
class Issued:
    serial: int
    not_after: datetime
    cert: Path
    key: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "gatehouse"), x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def san_of(host: str) -> x509.GeneralName:
    """An IP address as an IP entry (TLS clients match IPs only there), anything else as DNS."""
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def make_ca(common_name: str, now: datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _key()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name)).issuer_name(_name(common_name))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE).not_valid_after(now + timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
        ), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue(
    ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, common_name: str, now: datetime, *,
    hosts: Iterable[str] = (), client: bool = False, days: int,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A leaf certificate: a server one naming ``hosts``, or a client one (``client``) for a gate."""
    key = _key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name)).issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE).not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=True, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
        ), critical=True)
        .add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.CLIENT_AUTH] if client else [ExtendedKeyUsageOID.SERVER_AUTH]
        ), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    names = [san_of(h) for h in hosts]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def make_crl(
    ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, revoked: Iterable[tuple[int, datetime]], now: datetime
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject).last_update(now - BACKDATE).next_update(now + timedelta(days=CRL_DAYS))
    )
    for serial, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    return builder.sign(ca_key, hashes.SHA256())


class Pki:
    """The files of one estate's CA under ``root`` (see the module docstring)."""

    def __init__(self, root: Path, group: str | None = None) -> None:
        self.root = Path(root)
        self.group = group
        self.ca_key = self.root / "ca" / "ca.key"
        self.ca_cert = self.root / "ca.crt"
        self.crl = self.root / "crl.pem"
        self.server_cert = self.root / "server.crt"
        self.server_key = self.root / "server.key"
        self.passwd = self.root / "passwd"
        self.acl = self.root / "acl"

    def gate_dir(self, gate_id: str) -> Path:
        return self.root / "gates" / gate_id

    def gate_files(self, gate_id: str) -> tuple[Path, Path, Path]:
        """(ca.crt, GATE.crt, GATE.key) in the directory that is copied to the gate's Pi."""
        d = self.gate_dir(gate_id)
        return d / "ca.crt", d / f"{gate_id}.crt", d / f"{gate_id}.key"

    def exists(self) -> bool:
        return self.ca_key.exists() and self.ca_cert.exists()

    def prepare(self) -> None:
        """The top directory mosquitto traverses (0750, its group) and the CA's own (0700)."""
        ensure_dir(self.root, 0o750)
        set_group(self.root, self.group)
        ensure_dir(self.root / "ca", 0o700)

    def load_ca(self) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        if not self.exists():
            raise NotFound("no estate CA in {root}: run gate-hub ca init first", rule="no_ca", root=str(self.root))
        key = serialization.load_pem_private_key(self.ca_key.read_bytes(), password=None)
        cert = x509.load_pem_x509_certificate(self.ca_cert.read_bytes())
        return key, cert  # type: ignore[return-value]

    def init(self, site: str, now: datetime | None = None) -> Issued:
        """Make the estate CA (once: a second CA would orphan every certificate already issued)."""
        if self.exists():
            raise PkiError(f"{self.root} already holds an estate CA; it is not replaced", rule="ca_exists")
        now = now or datetime.now(timezone.utc)
        self.prepare()
        key, cert = make_ca(f"gatehouse {site} estate CA", now)
        write_atomic(self.ca_key, _key_pem(key), SECRET)
        write_atomic(self.ca_cert, cert.public_bytes(serialization.Encoding.PEM), PUBLIC)
        self.write_crl([], now)
        return Issued(cert.serial_number, cert.not_valid_after_utc, self.ca_cert, self.ca_key)

    def server(self, hosts: list[str], now: datetime | None = None) -> Issued:
        """The broker's certificate for every name and address gates use to reach it."""
        if not hosts:
            raise PkiError("name at least one --host the gates use to reach the broker", rule="no_host")
        now = now or datetime.now(timezone.utc)
        ca_key, ca_cert = self.load_ca()
        key, cert = issue(ca_key, ca_cert, hosts[0], now, hosts=hosts, days=SERVER_DAYS)
        write_atomic(self.server_key, _key_pem(key), BROKER_READS, self.group)
        write_atomic(self.server_cert, cert.public_bytes(serialization.Encoding.PEM), PUBLIC)
        return Issued(cert.serial_number, cert.not_valid_after_utc, self.server_cert, self.server_key)

    def gate(self, gate_id: str, now: datetime | None = None) -> Issued:
        """A gate's client certificate (CN = gate id), its key, and the CA certificate it trusts."""
        ensure_dir(self.root / "gates", 0o700)
        return self._client(gate_id, self.gate_dir(gate_id), now)

    def hub_dir(self) -> Path:
        return self.root / "hub"

    def hub_files(self, username: str) -> tuple[Path, Path, Path]:
        d = self.hub_dir()
        return d / "ca.crt", d / f"{username}.crt", d / f"{username}.key"

    def hub(self, username: str, now: datetime | None = None) -> Issued:
        """The hub's own client certificate, for a hub that reaches the broker's TLS listener
        from another host (CN = its broker username)."""
        return self._client(username, self.hub_dir(), now)

    def _client(self, name: str, where: Path, now: datetime | None) -> Issued:
        now = now or datetime.now(timezone.utc)
        ca_key, ca_cert = self.load_ca()
        key, cert = issue(ca_key, ca_cert, name, now, client=True, days=GATE_DAYS)
        ensure_dir(where, 0o700)
        ca_copy, cert_path, key_path = where / "ca.crt", where / f"{name}.crt", where / f"{name}.key"
        write_atomic(key_path, _key_pem(key), SECRET)
        write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), PUBLIC)
        write_atomic(ca_copy, ca_cert.public_bytes(serialization.Encoding.PEM), PUBLIC)
        return Issued(cert.serial_number, cert.not_valid_after_utc, cert_path, key_path)

    def remove_gate_files(self, gate_id: str) -> None:
        """A retired gate's key and certificate leave the hub (the certificate is also revoked)."""
        d = self.gate_dir(gate_id)
        if d.is_dir():
            for f in d.iterdir():
                f.unlink()
            d.rmdir()

    def write_crl(self, revoked: Iterable[tuple[int, datetime]], now: datetime | None = None) -> Path:
        now = now or datetime.now(timezone.utc)
        ca_key, ca_cert = self.load_ca()
        crl = make_crl(ca_key, ca_cert, revoked, now)
        return write_atomic(self.crl, crl.public_bytes(serialization.Encoding.PEM), PUBLIC)

