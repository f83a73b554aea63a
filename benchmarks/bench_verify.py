"""Target 4: token verification with a warm JWKS cache, on one core.

Prints, side by side in interleaved rounds over the same distinct tokens:
- the limit: a bare RSA verify (cryptography) plus a JSON parse of the payload, no checks;
- the candidates: PyJWT's jwt.decode and joserfc's jwt.decode plus its claims registry;
- the runbook's verifier (joserfc doing the checks, plus key selection and its messages);
- a repeated token (a server seeing the same bearer token on every request: expiry,
  token_use and client re-checked, signature checked once);
then JWKS fetches after warm-up and for a flood of unknown-kid tokens.

The private local AWS runs without Cognito's quotas (minting the tokens is 2,000
AdminInitiateAuth calls, over the UserAuthentication quota, and not what is measured),
without latency and without waits.
"""

import base64
import contextlib
import json
import statistics
import time

import jwt
from common import LocalOptions, arguments, private_stack, report
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from joserfc import jwt as jose_jwt
from joserfc.jwk import RSAKey

from cognito_runbook.passwords import PasswordStore
from cognito_runbook.tokens import JwksCache, TokenVerifier, UnknownSigningKey

OPTIONS = LocalOptions(delay=0.0, latency_ms=0.0, quotas=False)


def per_second(fn, items) -> float:
    started = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - started)


def main():
    args = arguments(__doc__).parse_args()
    distinct, rounds, flood_size = (50, 1, 200) if args.smoke else (2000, 3, 10000)
    with private_stack(OPTIONS, "token verification") as (_endpoint, rb, out):
        user = rb.params.users[0]
        password = PasswordStore(rb.ctx).existing(user)
        cognito = rb.backend.client("cognito-idp")
        tokens = [
            cognito.admin_initiate_auth(
                UserPoolId=out.pool_id,
                ClientId=out.client_id,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": user.name, "PASSWORD": password},
            )["AuthenticationResult"]["AccessToken"]
            for _ in range(distinct)
        ]
        jwks = JwksCache(out.jwks_url)
        kid = jwt.get_unverified_header(tokens[0])["kid"]
        entry = next(k for k in jwks.jwks()["keys"] if k["kid"] == kid)
        public_key = jwt.PyJWK(entry, algorithm="RS256").key
        jose_key = RSAKey.import_key(entry)
        registry = jose_jwt.JWTClaimsRegistry(
            exp={"essential": True}, iss={"essential": True, "value": out.issuer}, token_use={"essential": True}
        )

        def bare(token: str) -> dict:
            head, payload, signature = token.split(".")
            sig = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
            public_key.verify(sig, f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
            return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))

        def joserfc(token: str) -> dict:
            claims = jose_jwt.decode(token, jose_key, algorithms=["RS256"]).claims
            registry.validate(claims)
            return claims

        def pyjwt(token: str) -> dict:
            return jwt.decode(token, public_key, algorithms=["RS256"], options={"verify_aud": False})

        rates = {"bare": [], "pyjwt": [], "joserfc": [], "distinct": [], "repeated": []}
        for _ in range(rounds):
            fresh = TokenVerifier(out.issuer, out.client_id, jwks)
            rates["bare"].append(per_second(bare, tokens))
            rates["pyjwt"].append(per_second(pyjwt, tokens))
            rates["joserfc"].append(per_second(joserfc, tokens))
            rates["distinct"].append(per_second(lambda tok, v=fresh: v.verify(tok, "access"), tokens))
            rates["repeated"].append(per_second(lambda tok, v=fresh: v.verify(tokens[0], "access"), tokens * 5))
        med = {k: statistics.median(v) for k, v in rates.items()}
        limit = med["bare"]
        fetches_after_warm = jwks.fetches - 1

        header = jwt.api_jws.base64url_encode(b'{"alg":"RS256","kid":"forged"}').decode()
        forged = header + "." + tokens[0].split(".", 1)[1]
        flood_cache = JwksCache(out.jwks_url)
        flood = TokenVerifier(out.issuer, out.client_id, flood_cache)
        started = time.monotonic()
        for _ in range(flood_size):
            with contextlib.suppress(UnknownSigningKey):
                flood.verify(forged)
        flood_seconds = time.monotonic() - started
        report(
            f"token verification, warm JWKS, one core (median of {rounds} interleaved rounds)",
            [
                ("limit: bare RSA verify + JSON parse", f"{limit:,.0f} /s   (no checks at all)"),
                ("PyJWT jwt.decode", f"{med['pyjwt']:,.0f} /s   ({med['pyjwt'] / limit:.2f} of the limit)"),
                (
                    "joserfc decode + claims registry",
                    f"{med['joserfc']:,.0f} /s   ({med['joserfc'] / limit:.2f} of the limit)",
                ),
                (
                    "runbook verifier, distinct tokens",
                    f"{med['distinct']:,.0f} /s   ({med['distinct'] / limit:.2f} of the limit; joserfc doing the checks)",
                ),
                ("repeated token (server steady state)", f"{med['repeated']:,.0f} /s"),
                ("JWKS fetches after warm-up", f"{fetches_after_warm} (after {rounds * distinct * 6:,} verifications)"),
                (
                    f"{flood_size:,} unknown-kid tokens",
                    f"{flood_cache.fetches} JWKS fetch(es) in {flood_seconds:.2f} s (limit: 1 per 10 s)",
                ),
            ],
        )


if __name__ == "__main__":
    main()
