"""The local AWS's SRP verifier (``local/patches/cognitoidp_srp.py``) without a server:
its group is RFC 3526's, and it accepts exactly the proofs pycognito's client side makes
with the right password."""

from __future__ import annotations

import base64

import pytest
from pycognito import aws_srp

from cognito_runbook.local.patches import cognitoidp_srp as srp

POOL_ID = "us-east-1_AbCdEf123"
USER = "db2dba"
PASSWORD = "Right-password-1"


def _pi_times_power_of_two(bits: int) -> int:
    """floor(pi * 2^bits), from Machin's formula pi = 16 atan(1/5) - 4 atan(1/239) in integers."""
    scale = 1 << (bits + 32)  # 32 guard bits

    def arctan_inverse(x: int) -> int:
        total, term, n, sign = 0, scale // x, 1, 1
        while term:
            total += sign * (term // n)
            term //= x * x
            n, sign = n + 2, -sign
        return total

    return (16 * arctan_inverse(5) - 4 * arctan_inverse(239)) >> 32


def test_the_group_is_rfc3526s_3072_bit_prime():
    # RFC 3526, section 4: p = 2^3072 - 2^3008 - 1 + 2^64 * { [2^2942 pi] + 1690314 }
    expected = 2**3072 - 2**3008 - 1 + 2**64 * (_pi_times_power_of_two(2942) + 1690314)
    assert expected == srp.GROUP_PRIME
    assert srp.GENERATOR == 2


@pytest.mark.parametrize("number, encoded", [(0x7F, b"\x7f"), (0x80, b"\x00\x80"), (0xABC, b"\x0a\xbc"), (0, b"\x00")])
def test_pad_writes_a_positive_number_as_the_sdks_hash_it(number, encoded):
    assert srp.pad(number) == encoded


def _exchange(password_on_server: str = PASSWORD):
    """A server-side exchange for USER and the pycognito client that answers it."""
    salt = 0x9F3C00112233445566778899AABBCCDD
    verifier = srp.password_verifier(POOL_ID, USER, password_on_server, salt)
    secret, public = srp.server_key_pair(verifier)
    client = aws_srp.AWSSRP(USER, PASSWORD, POOL_ID, "client-id", client=object())
    proof = srp.PendingProof(
        pool_id=POOL_ID,
        client_id="client-id",
        username=USER,
        user_sub="sub",
        moto_session="session",
        client_public=client.large_a_value,
        salt=salt,
        verifier=verifier,
        server_secret=secret,
        server_public=public,
    )
    return proof, client


def _answer(proof, client, secret_block: bytes = b"opaque block"):
    challenge = {
        "USER_ID_FOR_SRP": USER,
        "USERNAME": USER,
        "SALT": format(proof.salt, "x"),
        "SRP_B": format(proof.server_public, "x"),
        "SECRET_BLOCK": base64.b64encode(secret_block).decode(),
    }
    return client.process_challenge(challenge, {"USERNAME": USER})


def test_a_proof_made_with_the_right_password_is_accepted():
    proof, client = _exchange()
    answer = _answer(proof, client)
    assert proof.proves_password(b"opaque block", answer["TIMESTAMP"], answer["PASSWORD_CLAIM_SIGNATURE"])


def test_a_proof_made_with_another_password_or_for_another_block_or_time_is_refused():
    proof, client = _exchange(password_on_server="Other-password-1")
    answer = _answer(proof, client)
    assert not proof.proves_password(b"opaque block", answer["TIMESTAMP"], answer["PASSWORD_CLAIM_SIGNATURE"])
    proof, client = _exchange()
    answer = _answer(proof, client)
    signature, timestamp = answer["PASSWORD_CLAIM_SIGNATURE"], answer["TIMESTAMP"]
    assert not proof.proves_password(b"another block", timestamp, signature)
    assert not proof.proves_password(b"opaque block", timestamp.replace(" UTC ", " GMT "), signature)
    assert not proof.proves_password(b"opaque block", timestamp, "not base64!")


def test_a_zero_padded_day_is_not_the_sdks_timestamp():
    assert srp.TIMESTAMP_FORM.fullmatch("Tue Mar 4 09:05:01 UTC 2025")
    assert not srp.TIMESTAMP_FORM.fullmatch("Tue Mar 04 09:05:01 UTC 2025")


def test_pending_exchanges_are_single_use_expire_and_are_bounded():
    now = [100.0]
    pending = srp.PendingProofs(clock=lambda: now[0], limit=2)
    first = pending.open(_exchange()[0], minutes=3)
    assert len(base64.b64decode(first)) == 64
    taken = pending.take(first)
    assert taken is not None and not pending.expired(taken) and pending.take(first) is None
    second = pending.open(_exchange()[0], minutes=3)
    now[0] += 181
    assert pending.expired(pending.take(second))
    blocks = [pending.open(_exchange()[0], minutes=3) for _ in range(3)]
    assert pending.take(blocks[0]) is None and pending.take(blocks[2]) is not None  # the oldest went first
