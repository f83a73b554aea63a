"""Cognito's SRP sign-in, with the password proof checked as Cognito checks it (part of the
one place that touches moto's internals: see ``patches/__init__.py``).

moto 5.2 answers ``InitiateAuth`` ``USER_SRP_AUTH`` with random strings for ``SRP_B`` and
``SALT`` and takes any ``PASSWORD_VERIFIER`` response that carries a signature, so any
password signs in. Here the local AWS plays Cognito's side of SRP-6a (RFC 5054) with the
user's password, which moto keeps, standing in for the verifier Cognito stores:

- ``InitiateAuth`` ``USER_SRP_AUTH`` (``USERNAME``, ``SRP_A``) answers ``PASSWORD_VERIFIER``
  with ``SALT``, ``SRP_B``, ``SECRET_BLOCK`` and, in ``USER_ID_FOR_SRP`` and ``USERNAME``,
  the user's actual user name ("In SRP challenges, Amazon Cognito returns the username
  attribute in USER_ID_FOR_SRP instead of any email address, preferred username, or phone
  number alias"); the state of the exchange stays here, found again by its secret block.
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html
- ``RespondToAuthChallenge`` ``PASSWORD_VERIFIER`` (``PASSWORD_CLAIM_SIGNATURE``,
  ``PASSWORD_CLAIM_SECRET_BLOCK``, ``TIMESTAMP``, ``USERNAME``, and ``SECRET_HASH`` for a
  client with a secret) signs in only with a signature made from the right password, for
  the user the challenge was for; otherwise ``NotAuthorizedException`` "Incorrect username
  or password.". A secret block answers once, within the app client's
  ``AuthSessionValidity`` (3 minutes unless set: "your users have three minutes to complete
  each challenge before the session string expires").
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_RespondToAuthChallenge.html
  https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-authentication-flow.html

The arithmetic, as the AWS SDKs' SRP helpers compute it (AWS documents the parameters, and
leaves the computation to those helpers):

    N, g      the 3072-bit MODP group of RFC 3526 (section 4), g = 2; H = SHA-256
    PAD(n)    n big-endian with a leading zero byte when its top bit is set
    k = H(PAD(N) | PAD(g))
    x = H(PAD(salt) | H(pool name | user id for SRP | ":" | password))   (pool name: the pool id after "_")
    v = g^x mod N;   B = (k*v + g^b) mod N, b secret and new for each sign-in
    u = H(PAD(A) | PAD(B));   S = (A * v^u)^b mod N
    key = HKDF-SHA256(ikm = PAD(S), salt = PAD(u), info = "Caldera Derived Key"), 16 bytes (RFC 5869)
    signature = HMAC-SHA256(key, pool name | user id for SRP | secret block | timestamp)

The timestamp is the one the client sends, in the SDKs' form ``Tue Mar 4 09:05:01 UTC 2025``
(the day of the month without a leading zero).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .originals import keep

# RFC 3526, section 4: the 3072-bit MODP group, p = 2^3072 - 2^3008 - 1 + 2^64 * ([2^2942 pi] + 1690314).
GROUP_PRIME = int(
    "FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1 29024E08 8A67CC74 020BBEA6 3B139B22"
    " 514A0879 8E3404DD EF9519B3 CD3A431B 302B0A6D F25F1437 4FE1356D 6D51C245 E485B576 625E7EC6"
    " F44C42E9 A637ED6B 0BFF5CB6 F406B7ED EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE45B3D"
    " C2007CB8 A163BF05 98DA4836 1C55D39A 69163FA8 FD24CF5F 83655D23 DCA3AD96 1C62F356 208552BB"
    " 9ED52907 7096966D 670C354E 4ABC9804 F1746C08 CA18217C 32905E46 2E36CE3B E39E772C 180E8603"
    " 9B2783A2 EC07A28F B5C55DF0 6F4C52C9 DE2BCBF6 95581718 3995497C EA956AE5 15D22618 98FA0510"
    " 15728E5A 8AAAC42D AD33170D 04507A33 A85521AB DF1CBA64 ECFB8504 58DBEF0A 8AEA7157 5D060C7D"
    " B3970F85 A6E1E4C7 ABF5AE8C DB0933D7 1E8C94E0 4A25619D CEE3D226 1AD2EE6B F12FFA06 D98A0864"
    " D8760273 3EC86A64 521F2B18 177B200C BBE11757 7A615D6C 770988C0 BAD946E2 08E24FA0 74E5AB31"
    " 43DB5BFC E0FD108E 4B82D120 A93AD2CA FFFFFFFF FFFFFFFF".replace(" ", ""),
    16,
)
GENERATOR = 2
KEY_INFO = b"Caldera Derived Key"
INCORRECT = "Incorrect username or password."
EXPIRED = "Invalid session for the user, session is expired."
TIMESTAMP_FORM = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [1-9]\d? \d\d:\d\d:\d\d UTC \d{4}"
)
DEFAULT_SESSION_MINUTES = 3  # AuthSessionValidity when the app client does not set it
MAX_PENDING = 10_000  # open exchanges kept at most (the oldest go first)


def pad(number: int) -> bytes:
    """PAD(n): big-endian bytes of a non-negative integer, with a leading zero byte when the
    top bit would otherwise be set (how the SDKs hash and send SRP numbers)."""
    return number.to_bytes(number.bit_length() // 8 + 1, "big")


def hash_to_int(*parts: bytes) -> int:
    return int.from_bytes(hashlib.sha256(b"".join(parts)).digest(), "big")


MULTIPLIER = hash_to_int(pad(GROUP_PRIME), pad(GENERATOR))  # k


def pool_name(pool_id: str) -> str:
    """The part of a pool id after its region: ``us-east-1_AbC123`` -> ``AbC123``."""
    return pool_id.split("_", 1)[1]


def password_verifier(pool_id: str, user_id_for_srp: str, password: str, salt: int) -> int:
    """v = g^x mod N, what Cognito keeps instead of the password."""
    identity = hashlib.sha256(f"{pool_name(pool_id)}{user_id_for_srp}:{password}".encode()).digest()
    return pow(GENERATOR, hash_to_int(pad(salt), identity), GROUP_PRIME)


def server_key_pair(verifier: int) -> tuple[int, int]:
    """(b, B): a new secret exponent and the public value B = (k*v + g^b) mod N (never 0)."""
    while True:
        secret = secrets.randbelow(GROUP_PRIME - 2) + 1
        public = (MULTIPLIER * verifier + pow(GENERATOR, secret, GROUP_PRIME)) % GROUP_PRIME
        if public:
            return secret, public


@dataclass
class PendingProof:
    """One SRP exchange between its challenge and the client's answer."""

    pool_id: str
    client_id: str
    username: str  # the user's actual user name, which is also the user id for SRP
    user_sub: str
    moto_session: str  # moto's own session for the rest of the flow (NEW_PASSWORD_REQUIRED, MFA)
    client_public: int  # A
    salt: int
    verifier: int = field(repr=False)  # v
    server_secret: int = field(repr=False)  # b
    server_public: int  # B
    expires: float = 0.0

    def session_key(self) -> bytes:
        """The 16-byte key both sides derive; the client only with the right password."""
        scrambler = hash_to_int(pad(self.client_public), pad(self.server_public))  # u
        shared = pow(
            self.client_public * pow(self.verifier, scrambler, GROUP_PRIME) % GROUP_PRIME,
            self.server_secret,
            GROUP_PRIME,
        )  # S
        extracted = hmac.new(pad(scrambler), pad(shared), hashlib.sha256).digest()  # HKDF-Extract
        return hmac.new(extracted, KEY_INFO + b"\x01", hashlib.sha256).digest()[:16]  # HKDF-Expand, one block

    def signature(self, secret_block: bytes, timestamp: str) -> bytes:
        message = pool_name(self.pool_id).encode() + self.username.encode() + secret_block + timestamp.encode()
        return hmac.new(self.session_key(), message, hashlib.sha256).digest()

    def proves_password(self, secret_block: bytes, timestamp: str, claimed_signature: str) -> bool:
        if not TIMESTAMP_FORM.fullmatch(timestamp):
            return False
        try:
            claimed = base64.b64decode(claimed_signature, validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(claimed, self.signature(secret_block, timestamp))


class PendingProofs:
    """Open SRP exchanges by secret block: single use, until they expire."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, limit: int = MAX_PENDING):
        self.clock, self.limit = clock, limit
        self._open: dict[str, PendingProof] = {}
        self._lock = threading.Lock()

    def open(self, proof: PendingProof, minutes: float) -> str:
        """Keep ``proof`` for ``minutes``; returns its secret block (base64, as Cognito sends it)."""
        secret_block = base64.b64encode(secrets.token_bytes(64)).decode()
        with self._lock:
            now = self.clock()
            for stale in [s for s, p in self._open.items() if p.expires < now]:
                del self._open[stale]
            while len(self._open) >= self.limit:
                del self._open[next(iter(self._open))]
            proof.expires = now + 60 * minutes
            self._open[secret_block] = proof
        return secret_block

    def take(self, secret_block: str) -> PendingProof | None:
        """The exchange of ``secret_block``, removed: an answer is never checked twice."""
        with self._lock:
            return self._open.pop(secret_block, None)

    def expired(self, proof: PendingProof) -> bool:
        return proof.expires < self.clock()


PENDING = PendingProofs()


def patch_srp_sign_in() -> None:
    """Wraps InitiateAuth (as already patched for ExplicitAuthFlows: apply after
    ``cognitoidp.patch_auth``) and RespondToAuthChallenge."""
    from moto.cognitoidp.models import CognitoIdpBackend

    initiate, respond = CognitoIdpBackend.initiate_auth, CognitoIdpBackend.respond_to_auth_challenge
    keep(respond_to_auth_challenge=respond)

    def initiate_auth(self, client_id, auth_flow, auth_parameters):
        result = initiate(self, client_id, auth_flow, auth_parameters)
        if auth_flow != "USER_SRP_AUTH" or result.get("ChallengeName") != "PASSWORD_VERIFIER":
            return result
        return _srp_challenge(self, client_id, auth_parameters or {}, result)

    def respond_to_auth_challenge(self, session, client_id, challenge_name, challenge_responses):
        if challenge_name == "PASSWORD_VERIFIER":
            challenge_responses = _checked_answer(self, client_id, challenge_responses or {})
        return respond(self, session, client_id, challenge_name, challenge_responses)

    CognitoIdpBackend.initiate_auth = initiate_auth
    CognitoIdpBackend.respond_to_auth_challenge = respond_to_auth_challenge


def _srp_challenge(backend, client_id: str, auth_parameters: dict, moto_result: dict) -> dict:
    from moto.cognitoidp.exceptions import InvalidParameterException

    try:
        client_public = int(auth_parameters.get("SRP_A", ""), 16)
    except ValueError:
        raise InvalidParameterException("SRP_A is not a hexadecimal number") from None
    if client_public % GROUP_PRIME == 0:  # SRP-6a: the host aborts when A mod N is zero
        raise InvalidParameterException("SRP_A is not a valid SRP value")
    pool = next(p for p in backend.user_pools.values() if client_id in p.clients)
    user = backend.admin_get_user(pool.id, moto_result["ChallengeParameters"]["USERNAME"])
    salt = int.from_bytes(secrets.token_bytes(16), "big") or 1
    # A user without a password (none set yet) gets a verifier no password matches.
    password = user.password if user.password is not None else secrets.token_hex(32)
    verifier = password_verifier(pool.id, user.username, password, salt)
    server_secret, server_public = server_key_pair(verifier)
    proof = PendingProof(
        pool_id=pool.id,
        client_id=client_id,
        username=user.username,
        user_sub=user.id,
        moto_session=moto_result["Session"],
        client_public=client_public,
        salt=salt,
        verifier=verifier,
        server_secret=server_secret,
        server_public=server_public,
    )
    minutes = pool.clients[client_id].extended_config.get("AuthSessionValidity") or DEFAULT_SESSION_MINUTES
    secret_block = PENDING.open(proof, minutes)
    parameters = {
        "SALT": format(salt, "x"),
        "SRP_B": format(proof.server_public, "x"),
        "SECRET_BLOCK": secret_block,
        "USERNAME": user.username,
        "USER_ID_FOR_SRP": user.username,
    }
    return {**moto_result, "ChallengeParameters": parameters}


def _checked_answer(backend, client_id: str, responses: dict) -> dict:
    """The PASSWORD_VERIFIER answer, checked; what moto needs to finish the sign-in."""
    from moto.cognitoidp.exceptions import NotAuthorizedError, UserNotFoundError
    from moto.cognitoidp.utils import check_secret_hash

    secret_block = responses.get("PASSWORD_CLAIM_SECRET_BLOCK") or ""
    proof = PENDING.take(secret_block)
    pool = backend.user_pools.get(proof.pool_id) if proof is not None and proof.client_id == client_id else None
    if pool is None:
        raise NotAuthorizedError(INCORRECT)

    def refuse(message: str):
        backend.sessions.pop(proof.moto_session, None)  # a refused answer ends moto's session too
        return NotAuthorizedError(message)

    if PENDING.expired(proof):
        raise refuse(EXPIRED)
    username = responses.get("USERNAME") or ""
    client = pool.clients.get(client_id)
    secret_hash = responses.get("SECRET_HASH")
    if (
        client is not None
        and client.generate_secret
        and not check_secret_hash(client.secret, client.id, username, secret_hash)
    ):
        raise refuse(f"Unable to verify secret hash for client {client_id}")
    try:
        answering = backend.admin_get_user(pool.id, username)
    except UserNotFoundError:
        raise refuse(INCORRECT) from None
    proved = proof.proves_password(
        base64.b64decode(secret_block),
        responses.get("TIMESTAMP") or "",
        responses.get("PASSWORD_CLAIM_SIGNATURE") or "",
    )
    if answering.id != proof.user_sub or not proved:  # another user's name, or not the password
        raise refuse(INCORRECT)
    # moto finds its session by the secret block, and signs in the user name it is given.
    return {**responses, "PASSWORD_CLAIM_SECRET_BLOCK": proof.moto_session, "USERNAME": proof.username}
