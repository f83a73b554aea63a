"""The verifier: each check rejects a token crafted to fail only that check. No network:
the JWKS cache is filled with our own test key."""

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from cognito_runbook import tokens as t

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TESTPOOL"
CLIENT = "testclient123"


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


KEY, OTHER_KEY = new_key(), new_key()


class FakeJwks(t.JwksCache):
    """A JwksCache whose 'endpoint' is a dict we control; counts fetches like the real one."""

    def __init__(self, keys: dict, min_interval=10.0):
        super().__init__("memory://jwks", min_interval)
        self.document = {
            "keys": [
                {**json.loads(RSAAlgorithm.to_jwk(k.public_key())), "kid": kid, "alg": "RS256", "use": "sig"}
                for kid, k in keys.items()
            ]
        }

    def jwks(self):
        return self.document


def claims(use="access", **over):
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "token_use": use,
        "exp": now + 3600,
        "iat": now,
        "sub": "abc",
        ("aud" if use == "id" else "client_id"): CLIENT,
        ("cognito:username" if use == "id" else "username"): "db2dba",
        "cognito:groups": ["DB2ADMIN"],
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload, key=KEY, kid="k1", alg="RS256"):
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid} if kid else None)


@pytest.fixture
def verifier():
    return t.TokenVerifier(ISSUER, CLIENT, FakeJwks({"k1": KEY}))


def b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_valid_tokens_pass(verifier):
    assert verifier.verify(sign(claims("access")), "access")["username"] == "db2dba"
    assert verifier.verify(sign(claims("id")), "id")["cognito:username"] == "db2dba"
    assert verifier.verify(sign(claims("id")), required_group="DB2ADMIN")


def public_pem():
    from cryptography.hazmat.primitives import serialization

    return KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def hs256_with_public_key():
    header = b64({"alg": "HS256", "kid": "k1", "typ": "JWT"})
    body = b64(claims())
    import hashlib
    import hmac

    sig = hmac.new(public_pem(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"


def tamper_payload(token):
    h, _, s = token.split(".")
    return f"{h}.{b64(claims(username='SYSADMIN'))}.{s}"


def tamper_signature(token):
    h, p, s = token.split(".")
    return f"{h}.{p}.{s[:-4]}{'AAAA' if s[-4:] != 'AAAA' else 'BBBB'}"


ATTACKS = [
    ("alg none", lambda: f"{b64({'alg': 'none', 'kid': 'k1'})}.{b64(claims())}.", t.AlgorithmNotAllowed),
    ("alg none without kid", lambda: f"{b64({'alg': 'none'})}.{b64(claims())}.", t.AlgorithmNotAllowed),
    ("HS256 signed with the RSA public key", hs256_with_public_key, t.AlgorithmNotAllowed),
    ("RS512", lambda: sign(claims(), alg="RS512"), t.AlgorithmNotAllowed),
    ("unknown kid", lambda: sign(claims(), kid="nope"), t.UnknownSigningKey),
    ("no kid", lambda: sign(claims(), kid=None), t.UnknownSigningKey),
    ("tampered payload", lambda: tamper_payload(sign(claims())), t.BadSignature),
    ("tampered signature", lambda: tamper_signature(sign(claims())), t.BadSignature),
    ("signed by another key", lambda: sign(claims(), key=OTHER_KEY), t.BadSignature),
    ("expired", lambda: sign(claims(exp=int(time.time()) - 60)), t.TokenExpired),
    ("not yet valid", lambda: sign(claims(nbf=int(time.time()) + 600)), t.TokenNotYetValid),
    ("issuer of another pool", lambda: sign(claims(iss=ISSUER.replace("TESTPOOL", "OTHERPOOL"))), t.WrongIssuer),
    (
        "look-alike issuer host",
        lambda: sign(claims(iss=ISSUER.replace("amazonaws.com", "amazonaws.com.evil.io"))),
        t.WrongIssuer,
    ),
    ("trailing-slash issuer", lambda: sign(claims(iss=ISSUER + "/")), t.WrongIssuer),
    ("wrong client (access)", lambda: sign(claims(client_id="other")), t.WrongClient),
    ("wrong client (id)", lambda: sign(claims("id", aud="other")), t.WrongClient),
    ("no exp", lambda: sign(claims(exp=None)), t.MalformedToken),
    ("unknown token_use", lambda: sign(claims(token_use="refresh")), t.WrongTokenUse),
    ("truncated", lambda: sign(claims())[:40], t.MalformedToken),
    ("garbage", lambda: "garbage", t.MalformedToken),
    ("empty", lambda: "", t.MalformedToken),
    ("two parts", lambda: ".".join(sign(claims()).split(".")[:2]), t.MalformedToken),
    ("not base64", lambda: "###.###.###", t.MalformedToken),
]


@pytest.mark.parametrize("name, make, error", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_attacks_are_rejected_with_the_right_error(verifier, name, make, error):
    with pytest.raises(error):
        verifier.verify(make(), "id" if "(id)" in name else "access")


def test_id_token_where_access_is_required_and_the_reverse(verifier):
    with pytest.raises(t.WrongTokenUse):
        verifier.verify(sign(claims("id")), "access")
    with pytest.raises(t.WrongTokenUse):
        verifier.verify(sign(claims("access")), "id")


def test_required_group(verifier):
    with pytest.raises(t.MissingGroup, match="DB2SECADM"):
        verifier.verify(sign(claims()), required_group="DB2SECADM")


def test_leeway_is_explicit():
    token = sign(claims(exp=int(time.time()) - 5))
    with pytest.raises(t.TokenExpired):
        t.TokenVerifier(ISSUER, CLIENT, FakeJwks({"k1": KEY})).verify(token)
    assert t.TokenVerifier(ISSUER, CLIENT, FakeJwks({"k1": KEY}), leeway=30).verify(token)


def test_unknown_kid_refetches_at_most_once_per_interval(monkeypatch):
    jwks = FakeJwks({"k1": KEY})
    verifier = t.TokenVerifier(ISSUER, CLIENT, jwks)
    verifier.verify(sign(claims()))
    assert jwks.fetches == 1
    for _ in range(1000):
        with pytest.raises(t.UnknownSigningKey):
            verifier.verify(sign(claims(), kid="rotated"))
    assert jwks.fetches == 1  # within 10 s of the last fetch: no refetch
    clock = [time.monotonic() + 11]
    monkeypatch.setattr(t.time, "monotonic", lambda: clock[0])
    jwks.document["keys"][0]["kid"] = "rotated"  # the pool rotated its key
    assert verifier.verify(sign(claims(), kid="rotated"))
    assert jwks.fetches == 2


def test_tokens_repr_never_shows_full_tokens():
    tok = t.Tokens("a" * 500, "b" * 500, "refresh-secret-value")
    text = repr(tok)
    assert "a" * 100 not in text and "refresh-secret-value" not in text and "<hidden>" in text


def test_readable_claims_put_db2_claims_first():
    names = [n for n, _ in t.readable_claims(claims("id"))]
    assert names[:3] == ["cognito:username", "cognito:groups", "token_use"]


def test_a_verified_token_is_rechecked_for_expiry_use_and_group(verifier, monkeypatch):
    token = sign(claims(exp=int(time.time()) + 60))
    first = verifier.verify(token, "access")
    first["username"] = "changed"  # callers get a copy
    assert verifier.verify(token, "access")["username"] == "db2dba"
    with pytest.raises(t.WrongTokenUse):
        verifier.verify(token, "id")
    with pytest.raises(t.MissingGroup):
        verifier.verify(token, required_group="DB2SECADM")
    later = time.time() + 120
    monkeypatch.setattr(t.time, "time", lambda: later)
    with pytest.raises(t.TokenExpired):
        verifier.verify(token, "access")


def test_cache_is_bounded(verifier, monkeypatch):
    monkeypatch.setattr(t, "VERIFIED_CACHE_SIZE", 5)
    for i in range(20):
        verifier.verify(sign(claims(jti=str(i))))
    assert len(verifier._verified) == 5


def test_a_kid_that_is_not_a_string_is_rejected(verifier):
    with pytest.raises(t.UnknownSigningKey):
        verifier.verify(f"{b64({'alg': 'RS256', 'kid': ['k1']})}.{b64(claims())}.c2ln")


def test_an_unreachable_jwks_is_reported_as_such_during_the_back_off():
    cache = t.JwksCache("http://127.0.0.1:9/jwks.json", min_interval=10, timeout=2)
    for _ in range(2):  # the second call falls in the back-off: same message, no fetch
        with pytest.raises(t.TokenError, match="cannot fetch the JWKS"):
            cache.key("k1")
    assert cache.fetches == 1


def test_an_encrypted_refresh_token_is_named_as_such():
    jwe = ".".join(
        ["eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ", "a" * 20, "b" * 16, "c" * 40, "d" * 22]
    )
    with pytest.raises(t.MalformedToken, match=r"encrypted refresh token .* only Cognito can read"):
        t.decode_unverified(jwe)
