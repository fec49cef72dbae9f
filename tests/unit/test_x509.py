"""The scheme CA and ``x5c`` chain validation (src/blauweknop/_x509.py, specs/x509.md).

Every refusal is fed the bad chain and must raise the stable code; the happy paths check
what comes back. Certificates for hostile cases are built by hand with ``cryptography``.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from blauweknop._errors import BlauweKnopError, MalformedError, StorageError, TrustError
from blauweknop._keys import Key
from blauweknop._x509 import (
    MAX_CHAIN_LENGTH,
    CertificateAuthority,
    certificate_from_pem,
    certificate_to_pem,
    decode_x5c,
    encode_x5c,
    leaf_matches_issuer,
    leaf_public_key,
    resolve_x5c_key,
    verify_chain,
    x509_hash,
)

T0 = 1_800_000_000  # every certificate is made at T0 and checked shortly after: no calendar
LATER = T0 + 3600
ISS = "https://cjib.example/issuer"


def _priv(key: Key):  # the cryptography private key behind a test Key
    if key.crv == "Ed25519":
        return ed25519.Ed25519PrivateKey.from_private_bytes(key.private_bytes())
    return ec.derive_private_key(int.from_bytes(key.private_bytes(), "big"), ec.SECP256R1())


def _ku(*, sign: bool = False, cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _cn(name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])


def handmade(
    subject: str,
    public_key,
    issuer: str,
    signer,
    *,
    ca: bool | None = False,
    path_length: int | None = None,
    ku: x509.KeyUsage | None = None,
    uris: tuple[str, ...] = (ISS,),
    dns: tuple[str, ...] = (),
    start: float = T0 - 60,
    end: float = T0 + 86400,
    algorithm: hashes.HashAlgorithm | None = None,
    extra: tuple[tuple[x509.ExtensionType, bool], ...] = (),
) -> x509.Certificate:
    """A certificate with exactly the fields a hostile case needs."""
    b = (
        x509.CertificateBuilder()
        .subject_name(_cn(subject))
        .issuer_name(_cn(issuer))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime.fromtimestamp(start, dt.UTC))
        .not_valid_after(dt.datetime.fromtimestamp(end, dt.UTC))
    )
    if ca is not None:
        b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
    if ku is not None:
        b = b.add_extension(ku, critical=True)
    names = [x509.UniformResourceIdentifier(u) for u in uris] + [x509.DNSName(d) for d in dns]
    if names:
        b = b.add_extension(x509.SubjectAlternativeName(names), critical=False)
    for ext, critical in extra:
        b = b.add_extension(ext, critical=critical)
    if isinstance(signer, ed25519.Ed25519PrivateKey):
        return b.sign(signer, None)
    return b.sign(signer, algorithm or hashes.SHA256())


@pytest.fixture(scope="module")
def root() -> CertificateAuthority:
    return CertificateAuthority.create("Scheme Root", now=T0)


@pytest.fixture(scope="module")
def org() -> Key:
    return Key.generate("ES256")


def code(excinfo: pytest.ExceptionInfo[BlauweKnopError]) -> str:
    return excinfo.value.code


# -- happy paths ----------------------------------------------------------------------------------
@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_root_and_leaf_round_trip(alg: str) -> None:
    ca = CertificateAuthority.create("Root " + alg, Key.generate(alg), now=T0)
    holder = Key.generate(alg)
    leaf = ca.issue("Org", holder, uris=[ISS], dns=["cjib.example"], now=T0)
    x5c = ca.x5c(leaf)
    assert len(x5c) == 1  # the root is not sent (HAIP)
    got = verify_chain(x5c, [ca.certificate], now=LATER)
    assert got == leaf
    assert leaf_public_key(got) == holder.public()
    bc = ca.certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 1
    ku = ca.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.key_cert_sign and ku.crl_sign and not ku.digital_signature
    leaf_bc = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert leaf_bc.ca is False
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature


def test_chain_with_intermediate_and_root_included(root: CertificateAuthority, org: Key) -> None:
    sub = root.intermediate("Issuing CA", now=T0)
    leaf = sub.issue("Org", org, uris=[ISS], now=T0)
    x5c = sub.x5c(leaf)
    assert len(x5c) == 2
    assert verify_chain(x5c, [root.certificate], now=LATER) == leaf
    # A peer that sends the root as well (RFC 7515 allows it) is accepted: same DER as pinned.
    with_root = [*x5c, *encode_x5c([root.certificate])]
    assert verify_chain(with_root, [root.certificate], now=LATER) == leaf


def test_pinned_roots_may_be_several(root: CertificateAuthority, org: Key) -> None:
    other = CertificateAuthority.create("Other Root", now=T0)
    leaf = root.issue("Org", org, uris=[ISS], now=T0)
    assert verify_chain(root.x5c(leaf), [other.certificate, root.certificate], now=LATER) == leaf


def test_x509_hash_is_sha256_of_der_base64url(root: CertificateAuthority) -> None:
    import hashlib

    der = root.certificate.public_bytes(serialization.Encoding.DER)
    expected = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    assert x509_hash(der) == expected == x509_hash(root.certificate)
    assert "=" not in expected and len(expected) == 43


def test_save_and_load(tmp_path, root: CertificateAuthority, org: Key) -> None:
    sub = root.intermediate("Issuing CA", now=T0)
    sub.save(tmp_path / "ca")
    assert stat.S_IMODE(os.stat(tmp_path / "ca" / "ca-key.jwk").st_mode) == 0o600
    loaded = CertificateAuthority.load(tmp_path / "ca")
    assert loaded.certificate == sub.certificate and loaded.chain == sub.chain == ()
    assert loaded.key == sub.key and not loaded.is_root
    leaf = loaded.issue("Org", org, uris=[ISS], now=T0)
    assert verify_chain(loaded.x5c(leaf), [root.certificate], now=LATER) == leaf
    with pytest.raises(StorageError) as e:
        sub.save(tmp_path / "ca")
    assert code(e) == "file_exists"
    pem = certificate_to_pem(root.certificate)
    assert certificate_from_pem(pem) == root.certificate


def test_load_refuses_a_world_readable_key(tmp_path, root: CertificateAuthority) -> None:
    root.save(tmp_path / "ca")
    os.chmod(tmp_path / "ca" / "ca-key.jwk", 0o644)
    with pytest.raises(StorageError) as e:
        CertificateAuthority.load(tmp_path / "ca")
    assert code(e) == "key_file_permissions"


def test_ca_key_must_match_certificate(root: CertificateAuthority) -> None:
    with pytest.raises(MalformedError) as e:
        CertificateAuthority(root.certificate, Key.generate())
    assert code(e) == "ca_key_invalid"
    with pytest.raises(MalformedError) as e:
        CertificateAuthority.create("P-384 root", Key.generate("ES384"), now=T0)
    assert code(e) == "ca_key_invalid"


def test_issue_refuses_bad_input(root: CertificateAuthority, org: Key) -> None:
    for kwargs in (
        {"role": "root"},
        {"uris": ()},  # a leaf must name somebody
        {"uris": ("not a uri",)},
        {"dns": ("bad_host!",), "uris": ()},
        {"dns": ("127.0.0.1",), "uris": ()},
        {"valid_days": 0},
    ):
        args = {"uris": (ISS,), **kwargs}
        with pytest.raises(MalformedError) as e:
            root.issue("Org", org, now=T0, **args)
        assert code(e) == "certificate_invalid", kwargs
    with pytest.raises(MalformedError):
        root.issue("Org", Key.generate("ES384"), uris=[ISS], now=T0)


def test_leaf_never_outlives_its_ca(org: Key) -> None:
    ca = CertificateAuthority.create("Short Root", valid_days=10, now=T0)
    leaf = ca.issue("Org", org, uris=[ISS], valid_days=365, now=T0)
    assert leaf.not_valid_after_utc == ca.certificate.not_valid_after_utc


# -- hostile chains -------------------------------------------------------------------------------
def test_chain_to_another_root_is_refused(root: CertificateAuthority, org: Key) -> None:
    # The attacker's root even has the same name as ours: names do not decide.
    evil = CertificateAuthority.create("Scheme Root", now=T0)
    leaf = evil.issue("Org", org, uris=[ISS], now=T0)
    with pytest.raises(TrustError) as e:
        verify_chain(evil.x5c(leaf), [root.certificate], now=LATER)
    assert code(e) == "x5c_untrusted_root"
    # Sending the look-alike root in the chain does not help either.
    with pytest.raises(TrustError) as e:
        verify_chain(
            [*evil.x5c(leaf), *encode_x5c([evil.certificate])], [root.certificate], now=LATER
        )
    assert code(e) == "x5c_untrusted_root"


def test_self_signed_leaf_is_refused(root: CertificateAuthority, org: Key) -> None:
    leaf = handmade("Org", org.public_key, "Scheme Root", _priv(org), ku=_ku(sign=True))
    with pytest.raises(TrustError) as e:
        verify_chain(encode_x5c([leaf]), [root.certificate], now=LATER)
    assert code(e) == "x5c_untrusted_root"


def test_expired_and_not_yet_valid(root: CertificateAuthority, org: Key) -> None:
    leaf = root.issue("Org", org, uris=[ISS], valid_days=1, now=T0)
    with pytest.raises(TrustError) as e:
        verify_chain(root.x5c(leaf), [root.certificate], now=T0 + 2 * 86400)
    assert code(e) == "x5c_expired"
    with pytest.raises(TrustError) as e:
        verify_chain(root.x5c(leaf), [root.certificate], now=T0 - 3600)
    assert code(e) == "x5c_not_yet_valid"


def test_expired_root_is_refused(org: Key) -> None:
    ca = CertificateAuthority.create("Short Root", valid_days=2, now=T0)
    # A leaf made by hand that outlives its root: the root's own validity still counts.
    leaf = handmade(
        "Org", org.public_key, "Short Root", _priv(ca.key), ku=_ku(sign=True), end=T0 + 30 * 86400
    )
    assert verify_chain(encode_x5c([leaf]), [ca.certificate], now=T0 + 86400) == leaf
    with pytest.raises(TrustError) as e:
        verify_chain(encode_x5c([leaf]), [ca.certificate], now=T0 + 5 * 86400)
    assert code(e) == "x5c_expired"


def test_leaf_used_as_ca_is_refused(root: CertificateAuthority, org: Key) -> None:
    leaf = root.issue("Org", org, uris=[ISS], now=T0)
    victim_key = Key.generate()
    grandchild = handmade("Fake", victim_key.public_key, "Org", _priv(org), ku=_ku(sign=True))
    with pytest.raises(TrustError) as e:
        verify_chain(encode_x5c([grandchild, leaf]), [root.certificate], now=LATER)
    assert code(e) == "x5c_key_usage"


def test_ca_certificate_as_leaf_is_refused(root: CertificateAuthority) -> None:
    sub = root.intermediate("Issuing CA", now=T0)
    with pytest.raises(TrustError) as e:
        verify_chain(encode_x5c([sub.certificate]), [root.certificate], now=LATER)
    assert code(e) == "x5c_key_usage"
    with pytest.raises(TrustError) as e:  # the pinned root itself as a leaf
        verify_chain(encode_x5c([root.certificate]), [root.certificate], now=LATER)
    assert code(e) == "x5c_key_usage"


def test_path_length_exceeded(org: Key) -> None:
    ca = CertificateAuthority.create("Root pl0", path_length=0, now=T0)
    sub = ca.intermediate("Sub", now=T0)
    leaf = sub.issue("Org", org, uris=[ISS], now=T0)
    with pytest.raises(TrustError) as e:
        verify_chain(sub.x5c(leaf), [ca.certificate], now=LATER)
    assert code(e) == "x5c_path_length"
    # One level deeper under a root that allows one intermediate: the intermediate's own
    # pathLength 0 forbids the second.
    root1 = CertificateAuthority.create("Root pl1", path_length=3, now=T0)
    sub1 = root1.intermediate("Sub1", now=T0, path_length=0)
    sub2_key = Key.generate()
    sub2_cert = handmade(
        "Sub2", sub2_key.public_key, "Sub1", _priv(sub1.key), ca=True, ku=_ku(cert_sign=True)
    )
    sub2 = CertificateAuthority(sub2_cert, sub2_key, chain=(sub1.certificate,))
    leaf2 = sub2.issue("Org", org, uris=[ISS], now=T0)
    assert len(sub2.x5c(leaf2)) == 3
    with pytest.raises(TrustError) as e:
        verify_chain(sub2.x5c(leaf2), [root1.certificate], now=LATER)
    assert code(e) == "x5c_path_length"


def test_missing_key_usage(root: CertificateAuthority, org: Key) -> None:
    no_ku = handmade("Org", org.public_key, "Scheme Root", _priv(root.key), ku=None)
    with pytest.raises(TrustError) as e:
        verify_chain(encode_x5c([no_ku]), [root.certificate], now=LATER)
    assert code(e) == "x5c_key_usage"
    wrong_ku = handmade(
        "Org", org.public_key, "Scheme Root", _priv(root.key), ku=_ku(cert_sign=True), ca=False
    )
    with pytest.raises(TrustError) as e:
        verify_chain(encode_x5c([wrong_ku]), [root.certificate], now=LATER)
    assert code(e) == "x5c_key_usage"
    # An intermediate that is a CA but may not sign certificates.
    sub_key = Key.generate()
    sub = handmade(
        "Sub", sub_key.public_key, "Scheme Root", _priv(root.key), ca=True, ku=_ku(sign=True)
    )
    leaf = handmade("Org", org.public_key, "Sub", _priv(sub_key), ku=_ku(sign=True))
    with pytest.raises(TrustError) as e:
        verify_chain(encode_x5c([leaf, sub]), [root.certificate], now=LATER)
    assert code(e) == "x5c_key_usage"
    # An intermediate without basicConstraints at all.
    sub_nobc = handmade(
        "Sub", sub_key.public_key, "Scheme Root", _priv(root.key), ca=None, ku=_ku(cert_sign=True)
    )
    with pytest.raises(TrustError) as e:
        verify_chain(encode_x5c([leaf, sub_nobc]), [root.certificate], now=LATER)
    assert code(e) == "x5c_key_usage"


def test_wrong_san_does_not_match(root: CertificateAuthority, org: Key) -> None:
    leaf = root.issue("Org", org, uris=["https://duo.example"], dns=["duo.example"], now=T0)
    with pytest.raises(TrustError) as e:
        resolve_x5c_key(root.x5c(leaf), ISS, [root.certificate], now=LATER)
    assert code(e) == "x5c_name_mismatch"
    assert (
        resolve_x5c_key(root.x5c(leaf), "https://duo.example", [root.certificate], now=LATER)
        == org.public()
    )


@pytest.mark.parametrize(
    ("uris", "dns", "iss", "expected"),
    [
        ((ISS,), (), ISS, True),
        ((ISS,), (), ISS + "/", False),  # exact URI only
        ((ISS,), (), "https://cjib.example", False),
        ((), ("cjib.example",), "https://cjib.example/any/path", True),
        ((), ("CJIB.example",), "https://cjib.EXAMPLE", True),
        ((), ("cjib.example",), "https://evil.example/cjib.example", False),
        ((), ("cjib.example",), "https://cjib.example.evil.example", False),
        ((), ("cjib.example",), "https://user@cjib.example", False),
        ((), ("cjib.example",), "http://cjib.example", False),
        ((), ("cjib.example",), "dns:cjib.example", True),
        ((), ("*.example",), "https://cjib.example", False),
        (("urn:oin:00000001003214345000",), (), "urn:oin:00000001003214345000", True),
        ((), ("cjib.example",), "urn:oin:00000001003214345000", False),
        ((ISS,), (), "", False),
    ],
)
def test_leaf_matches_issuer(uris, dns, iss, expected, root: CertificateAuthority) -> None:
    key = Key.generate()
    leaf = handmade(
        "Org", key.public_key, "Scheme Root", _priv(root.key), ku=_ku(sign=True), uris=uris, dns=dns
    )
    assert leaf_matches_issuer(leaf, iss) is expected


def test_no_san_matches_nothing(root: CertificateAuthority, org: Key) -> None:
    leaf = handmade(
        "cjib.example", org.public_key, "Scheme Root", _priv(root.key), ku=_ku(sign=True), uris=()
    )
    assert leaf_matches_issuer(leaf, "https://cjib.example") is False  # the CN never counts


def test_revoked_by_thumbprint(root: CertificateAuthority, org: Key) -> None:
    sub = root.intermediate("Issuing CA", now=T0)
    leaf = sub.issue("Org", org, uris=[ISS], now=T0)
    x5c = sub.x5c(leaf)
    assert verify_chain(x5c, [root.certificate], now=LATER, revoked={"unrelated"}) == leaf
    for revoked in (leaf, sub.certificate, root.certificate):
        with pytest.raises(TrustError) as e:
            verify_chain(x5c, [root.certificate], now=LATER, revoked={x509_hash(revoked)})
        assert code(e) == "x5c_revoked"


@pytest.mark.parametrize(
    "bad",
    [
        "not-a-list",
        [],
        [1],
        ["%%%%"],
        ["AAAA"],  # base64 but not a certificate
        ["QUJD"],  # "ABC"
        ["QUI="[:-1]],  # unpadded
        ["QUI=\n"],
        ["QUJ="],  # stray bits in the last character: not canonical
    ],
)
def test_garbage_x5c_is_refused(bad, root: CertificateAuthority) -> None:
    with pytest.raises(TrustError) as e:
        verify_chain(bad, [root.certificate], now=LATER)
    assert code(e) == "x5c_invalid"


def test_url_safe_base64_is_refused(root: CertificateAuthority, org: Key) -> None:
    # x5c is standard base64 (RFC 7515 4.1.6); find a certificate whose encoding has - or _.
    for _ in range(50):
        leaf = root.issue("Org", org, uris=[ISS], now=T0)
        std = encode_x5c([leaf])[0]
        url = std.replace("+", "-").replace("/", "_")
        if url != std:
            break
    with pytest.raises(TrustError) as e:
        verify_chain([url], [root.certificate], now=LATER)
    assert code(e) == "x5c_invalid"


def test_too_long_chain_and_oversized_certificate(root: CertificateAuthority, org: Key) -> None:
    leaf = root.issue("Org", org, uris=[ISS], now=T0)
    x5c = root.x5c(leaf) * (MAX_CHAIN_LENGTH + 1)
    with pytest.raises(TrustError) as e:
        verify_chain(x5c, [root.certificate], now=LATER)
    assert code(e) == "x5c_invalid"
    big = handmade(
        "Org",
        org.public_key,
        "Scheme Root",
        _priv(root.key),
        ku=_ku(sign=True),
        uris=tuple(f"https://cjib.example/{i:04d}/" + "x" * 80 for i in range(100)),
    )
    with pytest.raises(TrustError) as e:
        verify_chain(encode_x5c([big]), [root.certificate], now=LATER)
    assert code(e) == "x5c_invalid"


def test_broken_link_signature_is_refused(root: CertificateAuthority, org: Key) -> None:
    sub = root.intermediate("Issuing CA", now=T0)
    other_sub = root.intermediate("Issuing CA", now=T0)  # same name, other key
    leaf = sub.issue("Org", org, uris=[ISS], now=T0)
    with pytest.raises(TrustError) as e:
        verify_chain(encode_x5c([leaf, other_sub.certificate]), [root.certificate], now=LATER)
    assert code(e) == "x5c_invalid"


def test_tampered_leaf_is_refused(root: CertificateAuthority, org: Key) -> None:
    leaf = root.issue("Org", org, uris=[ISS], now=T0)
    der = bytearray(leaf.public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0x01  # inside the signature
    with pytest.raises(TrustError) as e:
        verify_chain([base64.b64encode(bytes(der)).decode()], [root.certificate], now=LATER)
    assert code(e) in {"x5c_untrusted_root", "x5c_invalid"}


def test_signature_algorithms_outside_es256_eddsa_are_refused(root: CertificateAuthority) -> None:
    # A leaf signed with ECDSA-SHA384 by the P-256 root: a valid signature, wrong algorithm.
    key = Key.generate()
    leaf = handmade(
        "Org",
        key.public_key,
        "Scheme Root",
        _priv(root.key),
        ku=_ku(sign=True),
        algorithm=hashes.SHA384(),
    )
    with pytest.raises(TrustError) as e:
        verify_chain(encode_x5c([leaf]), [root.certificate], now=LATER)
    assert code(e) == "x5c_untrusted_root"
    # An RSA leaf key under our root: the leaf key type is refused.
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_leaf = handmade(
        "Org", rsa_key.public_key(), "Scheme Root", _priv(root.key), ku=_ku(sign=True)
    )
    with pytest.raises(TrustError) as e:
        verify_chain(encode_x5c([rsa_leaf]), [root.certificate], now=LATER)
    assert code(e) == "x5c_invalid"


def test_unknown_critical_extension_is_refused(root: CertificateAuthority, org: Key) -> None:
    nc = x509.NameConstraints(permitted_subtrees=[x509.DNSName("example")], excluded_subtrees=None)
    leaf = handmade(
        "Org",
        org.public_key,
        "Scheme Root",
        _priv(root.key),
        ku=_ku(sign=True),
        extra=((nc, True),),
    )
    with pytest.raises(TrustError) as e:
        verify_chain(encode_x5c([leaf]), [root.certificate], now=LATER)
    assert code(e) == "x5c_invalid"


def test_no_roots_trusts_nothing(root: CertificateAuthority, org: Key) -> None:
    leaf = root.issue("Org", org, uris=[ISS], now=T0)
    with pytest.raises(TrustError) as e:
        verify_chain(root.x5c(leaf), [], now=LATER)
    assert code(e) == "x5c_untrusted_root"


def test_pinned_root_that_is_not_a_ca_anchors_nothing(org: Key) -> None:
    fake_root_key = Key.generate()
    fake_root = handmade(
        "Fake Root", fake_root_key.public_key, "Fake Root", _priv(fake_root_key), ku=_ku(sign=True)
    )
    leaf = handmade("Org", org.public_key, "Fake Root", _priv(fake_root_key), ku=_ku(sign=True))
    with pytest.raises(TrustError) as e:
        verify_chain(encode_x5c([leaf]), [fake_root], now=LATER)
    assert code(e) == "x5c_key_usage"


# -- properties -----------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=7))
def test_arbitrary_strings_never_crash(items: list[str]) -> None:
    with pytest.raises(TrustError) as e:
        verify_chain(items, [], now=LATER)
    assert e.value.code in {"x5c_invalid"}


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=0, max_size=600))
def test_arbitrary_der_is_x5c_invalid(blob: bytes) -> None:
    with pytest.raises(TrustError) as e:
        decode_x5c([base64.b64encode(blob).decode()])
    assert e.value.code == "x5c_invalid"


_ROOT_FOR_PROPS = CertificateAuthority.create("Prop Root", now=T0)
_LEAF_FOR_PROPS = _ROOT_FOR_PROPS.issue("Org", Key.generate(), uris=[ISS], now=T0)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=7))
def test_any_bit_flip_in_the_leaf_is_refused(position: int, bit: int) -> None:
    der = bytearray(_LEAF_FOR_PROPS.public_bytes(serialization.Encoding.DER))
    der[position % len(der)] ^= 1 << bit
    with pytest.raises(TrustError):
        verify_chain(
            [base64.b64encode(bytes(der)).decode()], [_ROOT_FOR_PROPS.certificate], now=LATER
        )


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=-(10**7), max_value=400 * 86400))
def test_validity_window_is_exact(offset: int) -> None:
    leaf = _LEAF_FOR_PROPS
    now = T0 + offset
    inside = leaf.not_valid_before_utc.timestamp() <= now <= leaf.not_valid_after_utc.timestamp()
    x5c = _ROOT_FOR_PROPS.x5c(leaf)
    if inside:
        assert verify_chain(x5c, [_ROOT_FOR_PROPS.certificate], now=now) == leaf
    else:
        with pytest.raises(TrustError) as e:
            verify_chain(x5c, [_ROOT_FOR_PROPS.certificate], now=now)
        assert e.value.code in {"x5c_expired", "x5c_not_yet_valid"}
