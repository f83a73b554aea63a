"""Db2 side against the local AWS: the artefacts parse and match the pool; the preflight follows the plugin's rules."""

import json
import time

import jwt
import pytest
from conftest import as_admin
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from cognito_runbook import db2
from cognito_runbook.passwords import PasswordStore
from cognito_runbook.preflight import ACCEPTS, REFUSES, WARNING, db2_preflight
from cognito_runbook.tokens import JwksCache, get_tokens


def test_artefacts_parse_and_match_the_pool(provisioned, tmp_path):
    rb, out = provisioned
    jwks = JwksCache(out.jwks_url).jwks()
    files = db2.write_artefacts(tmp_path, out, jwks)
    pools = json.loads(files["cognito_userpools.json"].read_text())
    assert pools == {"UserPools": {"ID": out.pool_id, "Name": "DB2UserPool"}}
    policy = json.loads(files["db2-host-policy.json"].read_text())
    assert policy["Statement"][0]["Action"] == db2.HOST_ACTIONS and policy["Statement"][0]["Resource"] == out.pool_arn
    lines = [line.split("=", 1) for line in files["db2token.cfg"].read_text().splitlines()]
    cfg = dict(lines)
    assert cfg["JWT_IDP_ISSUER"] == out.issuer and cfg["JWT_IDP_AUTHID_CLAIM"] == "username"
    # Cognito signs ID and access tokens with two keys: Db2 needs a certificate for each.
    labels = [value for key, value in lines if key == "JWT_IDP_RSA_CERTIFICATE_LABEL"]
    assert cfg["TOKEN_TYPES_SUPPORTED"] == "JWT" and labels == ["cognito-key-1", "cognito-key-2"]
    assert len(jwks["keys"]) == 2
    ca = x509.load_pem_x509_certificate(files["keys/cognito-runbook-ca.crt"].read_bytes())
    for number, jwk in enumerate(jwks["keys"], 1):
        jwk_numbers = jwt.PyJWK(jwk, algorithm="RS256").key.public_numbers()
        pem_key = serialization.load_pem_public_key(files[f"keys/cognito-key-{number}.pem"].read_bytes())
        assert pem_key.public_numbers() == jwk_numbers
        cert = x509.load_pem_x509_certificate(files[f"keys/cognito-key-{number}.crt"].read_bytes())
        assert cert.public_key().public_numbers() == jwk_numbers
        cert.verify_directly_issued_by(ca)
        assert (
            f"-label cognito-key-{number} -file keys/cognito-key-{number}.crt" in files["gskit-commands.sh"].read_text()
        )
    snippets = files["client-snippets.txt"].read_text()
    assert "accesstoken" in snippets and "securityMechanism=19" in snippets
    for user in rb.params.users:  # no password ever lands in an artefact
        secret = PasswordStore(rb.ctx).existing(user)
        assert all(secret not in p.read_text() for p in files.values())


@pytest.fixture
def tokens_for(provisioned):
    rb, out = provisioned

    def get(index=0):
        user = rb.params.users[index]
        return get_tokens(out.token_url, user.name, PasswordStore(rb.ctx).existing(user))

    return get


def results(pre):
    return {f.rule.split(" (")[0]: f.verdict for f in pre.findings}


@pytest.mark.parametrize("use", ["id", "access"])
def test_preflight_accepts_the_stack_tokens(provisioned, tokens_for, use):
    rb, out = provisioned
    tokens = tokens_for()
    pre = db2_preflight(tokens.id_token if use == "id" else tokens.access_token, out, rb.backend)
    assert pre.accepted, pre.table()
    assert pre.authid == "db2dba" and pre.groups == ["DB2ADMIN", "DB2USERS"]
    assert results(pre)["groups"] == ACCEPTS  # asked for DB2DBA: the pool is case-insensitive


def test_preflight_rejects_expired_and_foreign_tokens(provisioned, tokens_for):
    rb, out = provisioned
    token = tokens_for().access_token
    pre = db2_preflight(token, out, rb.backend, now=time.time() + 7200)  # Db2's clock two hours from now
    assert not pre.accepted and results(pre)["expiry"] == REFUSES
    assert "expired at" in next(f.db2 for f in pre.findings if f.rule.startswith("expiry"))
    other_pool = "us-east-1_" + "0" * 32
    pre = db2_preflight(token, out, rb.backend, configured_pool_id=other_pool)
    assert not pre.accepted and results(pre)["issuer"] == REFUSES


def test_preflight_flags_no_groups_and_invalid_group_names(provisioned, tokens_for):
    rb, out = provisioned
    cognito = as_admin(rb).client("cognito-idp")
    user = rb.params.users[1].name
    for group in rb.params.memberships[user]:
        cognito.admin_remove_user_from_group(UserPoolId=out.pool_id, Username=user, GroupName=group)
    pre = db2_preflight(tokens_for(1).access_token, out, rb.backend)
    assert pre.accepted and results(pre)["groups"] == WARNING and pre.groups == []
    cognito.create_group(UserPoolId=out.pool_id, GroupName="db2-readers")  # made in the console, not by us
    cognito.admin_add_user_to_group(UserPoolId=out.pool_id, Username=user, GroupName="db2-readers")
    pre = db2_preflight(tokens_for(1).access_token, out, rb.backend)
    assert results(pre)["groups"] == WARNING and "Db2 cannot use db2-readers" in pre.findings[7].db2
