"""Test certificates: a private CA, leaves that are wrong in one way each, and TLS servers for them."""

import datetime
import ssl

from cryptography import x509
from cryptography.x509.oid import NameOID


def ca_name(ca):
    """A trustme CA's name as the check prints an issuer: 'O=..., OU=...'."""
    subject = x509.load_pem_x509_certificate(ca.cert_pem.bytes()).subject
    return "O=%s, OU=%s" % tuple(subject.get_attributes_for_oid(oid)[0].value
                                 for oid in (NameOID.ORGANIZATION_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME))


def server_context(leaf, chain=True, **options):
    """A server-side SSLContext presenting `leaf` (with its intermediates unless `chain` is False)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    if chain:
        leaf.configure_cert(context)
    else:
        with leaf.private_key_pem.tempfile() as key, leaf.cert_chain_pems[0].tempfile() as cert:
            context.load_cert_chain(cert, key)
    for name, value in options.items():
        setattr(context, name, value)
    return context


def days_from_now(days):
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(days=days)



def self_signed(directory, name="127.0.0.1"):
    """(certificate path, key path) of a self-signed certificate for the IP address `name`."""
    import ipaddress

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "self-signed test server")])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(days_from_now(-1))
            .not_valid_after(days_from_now(30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(name))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "self-signed.pem", directory / "self-signed.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)
