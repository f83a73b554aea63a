"""Target 4: token verification with a warm JWKS cache, on one core.

Prints, side by side in interleaved rounds:
- distinct tokens (every token seen once: the full PyJWT verification path),
- a repeated token (a server seeing the same bearer token on every request: expiry,
  token_use and client re-checked, signature checked once),
- PyJWT's bare jwt.decode of the same tokens (the floor for the full path),
then JWKS fetches after warm-up and for a flood of unknown-kid tokens.
"""

import contextlib
import statistics
import time

import jwt
from common import private_stack, report

from cognito_runbook.passwords import PasswordStore
from cognito_runbook.tokens import JwksCache, TokenVerifier, UnknownSigningKey

DISTINCT = 2000
ROUNDS = 3


def per_second(fn, items) -> float:
    started = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - started)


def main():
    with private_stack() as (_endpoint, rb, out):
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
            for _ in range(DISTINCT)
        ]
        jwks = JwksCache(out.jwks_url)
        key = jwks.key(jwt.get_unverified_header(tokens[0])["kid"]).key
        rates = {"distinct": [], "repeated": [], "bare": []}
        for _ in range(ROUNDS):
            fresh = TokenVerifier(out.issuer, out.client_id, jwks)
            rates["distinct"].append(per_second(lambda tok, v=fresh: v.verify(tok, "access"), tokens))
            rates["repeated"].append(per_second(lambda tok, v=fresh: v.verify(tokens[0], "access"), tokens * 5))
            rates["bare"].append(
                per_second(
                    lambda tok: jwt.decode(tok, key, algorithms=["RS256"], options={"verify_aud": False}), tokens
                )
            )
        med = {k: statistics.median(v) for k, v in rates.items()}
        fetches_after_warm = jwks.fetches - 1

        header = jwt.api_jws.base64url_encode(b'{"alg":"RS256","kid":"forged"}').decode()
        forged = header + "." + tokens[0].split(".", 1)[1]
        flood_cache = JwksCache(out.jwks_url)
        flood = TokenVerifier(out.issuer, out.client_id, flood_cache)
        started = time.monotonic()
        for _ in range(10000):
            with contextlib.suppress(UnknownSigningKey):
                flood.verify(forged)
        flood_seconds = time.monotonic() - started
        report(
            f"token verification, warm JWKS, one core (median of {ROUNDS} interleaved rounds)",
            [
                ("distinct tokens (full verification)", f"{med['distinct']:,.0f} /s"),
                (
                    "PyJWT jwt.decode alone, same tokens",
                    f"{med['bare']:,.0f} /s   (ratio {med['distinct'] / med['bare']:.2f})",
                ),
                ("repeated token (server steady state)", f"{med['repeated']:,.0f} /s"),
                ("JWKS fetches after warm-up", f"{fetches_after_warm} (after {ROUNDS * DISTINCT * 7:,} verifications)"),
                (
                    "10,000 unknown-kid tokens",
                    f"{flood_cache.fetches} JWKS fetch(es) in {flood_seconds:.2f} s (limit: 1 per 10 s)",
                ),
            ],
        )


if __name__ == "__main__":
    main()
