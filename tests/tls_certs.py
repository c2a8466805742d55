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

