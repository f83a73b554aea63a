"""Cognito hosted-UI domains: CREATING before ACTIVE, DELETING before the prefix is free
(part of the one place that touches moto's internals: see ``patches/__init__.py``)."""

from __future__ import annotations

import time
from typing import Any

from ..timing import deadline
from .cognitoidp import invalid_parameter
from .originals import keep

_deleting_domains: dict[str, tuple[Any, float]] = {}  # prefix -> (domain, until)


def patch_domains() -> None:
    """A new domain is CREATING before it is ACTIVE, a deleted one DELETING before its prefix
    is free again; a prefix is taken once per region and a pool has one domain.
    https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-assign-domain-prefix.html
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_DomainDescriptionType.html"""
    from moto.cognitoidp.models import CognitoIdpBackend, CognitoIdpUserPoolDomain

    create, delete = CognitoIdpBackend.create_user_pool_domain, CognitoIdpBackend.delete_user_pool_domain
    describe, to_json = CognitoIdpBackend.describe_user_pool_domain, CognitoIdpUserPoolDomain.to_json
    keep(create_user_pool_domain=create, delete_user_pool_domain=delete)

    def create_user_pool_domain(self, user_pool_id, domain, custom_domain_config=None):
        _forget_deleted_domains()
        if domain in self.user_pool_domains or domain in _deleting_domains:
            raise invalid_parameter("Domain already exists.")
        if self.describe_user_pool(user_pool_id).domain is not None:
            raise invalid_parameter(f"User pool {user_pool_id} already has a domain configured.")
        made = create(self, user_pool_id, domain, custom_domain_config=custom_domain_config)
        made.ready_at = deadline()
        made.managed_login_version = 1  # the request's own value is set by _patch_domain_responses
        return made

    def delete_user_pool_domain(self, domain):
        found = self.user_pool_domains.get(domain)
        delete(self, domain)
        _deleting_domains[domain] = (found, deadline())

    def describe_user_pool_domain(self, domain):
        _forget_deleted_domains()
        if domain in _deleting_domains:
            found = _deleting_domains[domain][0]
            found.deleting = True
            return found
        return describe(self, domain)

    def domain_to_json(self, extended=True):
        out = to_json(self, extended)
        if extended:
            out["Status"] = domain_status(self)
            out["ManagedLoginVersion"] = getattr(self, "managed_login_version", 1)
        return out

    CognitoIdpBackend.create_user_pool_domain = create_user_pool_domain
    CognitoIdpBackend.delete_user_pool_domain = delete_user_pool_domain
    CognitoIdpBackend.describe_user_pool_domain = describe_user_pool_domain
    CognitoIdpUserPoolDomain.to_json = domain_to_json
    _patch_domain_responses()


def _patch_domain_responses() -> None:
    """moto's handlers do not pass ManagedLoginVersion through; read it from the request."""
    from moto.cognitoidp.responses import CognitoIdpResponse

    create, update = CognitoIdpResponse.create_user_pool_domain, CognitoIdpResponse.update_user_pool_domain

    def create_response(self):
        version = self._get_param("ManagedLoginVersion")
        result = create(self)
        if version is not None:
            made = self.backend.user_pool_domains.get(self._get_param("Domain"))
            if made is not None:
                made.managed_login_version = version
        return result

    def update_response(self):
        version = self._get_param("ManagedLoginVersion")
        made = self.backend.user_pool_domains.get(self._get_param("Domain"))
        if made is not None and version is not None and version != getattr(made, "managed_login_version", 1):
            made.managed_login_version = version
            made.ready_at, made.pending_status = deadline(), "UPDATING"
        return update(self)

    CognitoIdpResponse.create_user_pool_domain = create_response
    CognitoIdpResponse.update_user_pool_domain = update_response


def domain_status(domain) -> str:
    """CREATING/UPDATING, ACTIVE or DELETING, from what the patches above set on a domain."""
    if getattr(domain, "deleting", False):
        return "DELETING"
    if time.monotonic() < getattr(domain, "ready_at", 0.0):
        return getattr(domain, "pending_status", "CREATING")
    return "ACTIVE"


def _forget_deleted_domains() -> None:
    now = time.monotonic()
    for prefix, (_, until) in list(_deleting_domains.items()):
        if now >= until:
            _deleting_domains.pop(prefix, None)
