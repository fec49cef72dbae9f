"""``blauweknop ca init|issue`` (the scheme authority's small CA), ``blauweknop issuer
certificate`` (install an issuer's chain) and the shared ``--ca-root`` option (specs/x509.md)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from blauweknop import Issuer, Key
from blauweknop.x509 import (
    CA_CERTIFICATE_FILE,
    CA_KEY_FILE,
    CertificateAuthority,
    certificate_to_pem,
    load_certificates,
    x509_hash,
)

from ._common import JSON_OPTION, done, fail, handle_errors, read_json_object, write_output

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
#: JWK members that hold private key material: a certificate is for a public key only.
_PRIVATE = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})

#: ``--ca-root`` for commands that verify: pins the scheme CA's root certificate(s).
CA_ROOT_OPTION = click.option(
    "--ca-root",
    "ca_roots",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="The scheme CA's root certificate (PEM, pinned like the anchor key): issuers may then "
    "carry their key in an x5c chain to it. Repeatable. Without it, x5c chains are refused.",
)


def load_roots(paths: Sequence[str]) -> list[Any]:
    """The pinned root certificates of ``--ca-root`` files (each PEM may hold several)."""
    roots: list[Any] = []
    for p in paths:
        roots.extend(load_certificates(p))
    return roots


@click.group("ca", context_settings=CONTEXT)
def ca() -> None:
    """Run the scheme's X.509 CA (scheme authority): a root, certificates for organisations."""


@ca.command("init", context_settings=CONTEXT)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help=f"CA directory to create: {CA_CERTIFICATE_FILE} and {CA_KEY_FILE} (0600).",
)
@click.option("--name", default="Blauwe Knop Scheme Root", show_default=True, help="Root CN.")
@click.option("--alg", type=click.Choice(["ES256", "EdDSA"]), default="ES256", show_default=True)
@click.option(
    "--valid-days", default=3650, show_default=True, type=click.IntRange(1, 3660), help="Validity."
)
@click.option(
    "--path-length",
    default=1,
    show_default=True,
    type=click.IntRange(0, 4),
    help="How many intermediate CAs may stand below the root.",
)
@JSON_OPTION
@handle_errors()
def ca_init(
    out: str, name: str, alg: str, valid_days: int, path_length: int, as_json: bool
) -> None:
    """Create a self-signed root CA. Distribute OUT/ca-cert.pem to verifiers and wallets
    (--ca-root); keep OUT/ca-key.jwk secret. Never overwrites an existing CA."""
    root = CertificateAuthority.create(
        name, Key.generate(alg), valid_days=valid_days, path_length=path_length
    )
    root.save(out)
    cert = Path(out) / CA_CERTIFICATE_FILE
    done(
        as_json,
        f"wrote {cert} (root certificate, x509_hash {x509_hash(root.certificate)}) and "
        f"{Path(out) / CA_KEY_FILE} (private, 0600)",
        certificate=str(cert),
        x509_hash=x509_hash(root.certificate),
        subject=root.certificate.subject.rfc4514_string(),
    )


@ca.command("issue", context_settings=CONTEXT)
@click.option(
    "--ca", "ca_dir", required=True, type=click.Path(file_okay=False), help="CA directory."
)
@click.option(
    "--public-key",
    required=True,
    type=click.Path(dir_okay=False),
    help="The organisation's PUBLIC signing key (JWK, e.g. from its trust-entry or .pub.jwk).",
)
@click.option(
    "--uri",
    "uris",
    multiple=True,
    help="SAN URI: the organisation's id as its credentials name it (iss), e.g. https://cjib.nl",
)
@click.option("--dns", "dns", multiple=True, help="SAN DNS name (host of an https iss).")
@click.option("--name", default=None, help="Subject CN [default: the first --uri or --dns].")
@click.option(
    "--role", type=click.Choice(["issuer", "verifier"]), default="issuer", show_default=True
)
@click.option(
    "--valid-days", default=365, show_default=True, type=click.IntRange(1, 3660), help="Validity."
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="PEM file to write: the certificate, then the CA's chain (root left out).",
)
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@JSON_OPTION
@handle_errors()
def ca_issue(
    ca_dir: str,
    public_key: str,
    uris: tuple[str, ...],
    dns: tuple[str, ...],
    name: str | None,
    role: str,
    valid_days: int,
    out: str,
    force: bool,
    as_json: bool,
) -> None:
    """Certify an organisation's public key (a leaf: digitalSignature only, SAN URI/DNS)."""
    jwk = read_json_object(public_key, "public key")
    if _PRIVATE.intersection(jwk):
        fail("private_key_refused", f"{public_key} holds a PRIVATE key; give the public key")
    if not uris and not dns:
        fail("bad_usage", "give at least one --uri or --dns: the certificate must name somebody")
    authority = CertificateAuthority.load(ca_dir)
    key = Key.from_jwk(jwk).public()
    cn = name or (uris[0] if uris else dns[0])[:64]
    leaf = authority.issue(cn, key, uris=uris, dns=dns, role=role, valid_days=valid_days)
    pem = "".join(certificate_to_pem(c) for c in (leaf, *authority.issuing_chain))
    write_output(out, pem, force=force)
    done(
        as_json,
        f"wrote {out}: {role} certificate for {', '.join((*uris, *dns))} (kid {key.kid}), "
        f"x509_hash {x509_hash(leaf)}",
        out=out,
        x509_hash=x509_hash(leaf),
        kid=key.kid,
        role=role,
    )


@click.command("certificate", context_settings=CONTEXT)
@click.option("--home", required=True, type=click.Path(file_okay=False), help="Issuer home.")
@click.argument("chain", type=click.Path(dir_okay=False))
@JSON_OPTION
@handle_errors()
def issuer_certificate(home: str, chain: str, as_json: bool) -> None:
    """Install CHAIN (PEM from `ca issue`: the certificate for the active key, then the
    intermediates) so credentials and status lists carry it in their x5c header."""
    iss = Issuer.open(home)
    certs = load_certificates(chain)
    iss.install_certificate(certs)
    done(
        as_json,
        f"installed the certificate chain ({len(certs)} certificate(s)) for {iss.issuer_id}",
        certificates=len(certs),
        x509_hash=x509_hash(certs[0]),
    )
