"""IAM propagation: a new role, a new or changed role policy, takes a moment to apply
(part of the one place that touches moto's internals: see ``patches/__init__.py``)."""

from __future__ import annotations

from ..timing import mark_born, young
from .originals import keep


def role_is_new(role_arn: str | None) -> bool:
    """Whether the role was created less than the delay ago (Lambda cannot assume it yet)."""
    return young(f"role:{role_arn}")


def policy_is_new(role_name: str) -> bool:
    """Whether an inline policy of the role was put less than the delay ago (not in effect yet)."""
    return young(f"policy:{role_name}")


def patch_propagation() -> None:
    """IAM is eventually consistent: record when a role or its inline policy was made, so
    Lambda (``awslambda.py``) and the policy evaluation (``iam_evaluation.py``) can make
    callers wait as AWS does.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency"""
    from moto.iam.models import IAMBackend

    create_role, put_policy = IAMBackend.create_role, IAMBackend.put_role_policy
    keep(create_role=create_role, put_role_policy=put_policy)

    def iam_create_role(self, role_name, *args, **kwargs):
        role = create_role(self, role_name, *args, **kwargs)
        mark_born(f"role:{role.arn}")
        return role

    def iam_put_role_policy(self, role_name, policy_name, policy_json):
        put_policy(self, role_name, policy_name, policy_json)
        mark_born(f"policy:{role_name}")

    IAMBackend.create_role = iam_create_role
    IAMBackend.put_role_policy = iam_put_role_policy


def patch_boundaries() -> None:
    """A permissions boundary must be an existing managed policy: IAM refuses CreateRole and
    PutRolePermissionsBoundary naming one that does not exist with NoSuchEntity (moto checks
    only the ARN's form).
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html#API_CreateRole_Errors
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePermissionsBoundary.html#API_PutRolePermissionsBoundary_Errors"""
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import IAMBackend

    create_role, put_boundary = IAMBackend.create_role, IAMBackend.put_role_permissions_boundary

    def require(backend, arn) -> None:
        aws_managed = ":iam::aws:policy/" in (arn or "")  # moto may not load AWS's own policies
        if arn and not aws_managed and arn not in backend.managed_policies:
            raise NotFoundException(f"Policy {arn} does not exist or is not attachable.")

    def iam_create_role(self, role_name, *args, **kwargs):
        # moto's signature: (role_name, trust_policy, path, permissions_boundary, ...)
        require(self, kwargs.get("permissions_boundary") or (args[2] if len(args) > 2 else None))
        return create_role(self, role_name, *args, **kwargs)

    def iam_put_role_permissions_boundary(self, role_name, permissions_boundary):
        require(self, permissions_boundary)
        return put_boundary(self, role_name, permissions_boundary)

    IAMBackend.create_role = iam_create_role
    IAMBackend.put_role_permissions_boundary = iam_put_role_permissions_boundary


USER_INLINE_QUOTA, ROLE_INLINE_QUOTA, MANAGED_QUOTA = 2048, 10240, 6144


def _size(document: str) -> int:
    """A policy's size as IAM counts it: characters, white space not counted."""
    return len("".join(document.split()))


def patch_policy_sizes() -> None:
    """IAM's policy size quotas, which moto only reports: the inline policies of a user
    together at most 2,048 characters, of a role 10,240, a managed policy (each version)
    6,144, white space not counted; over them, LimitExceeded.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entity-length"""
    from moto.iam.exceptions import LimitExceededException
    from moto.iam.models import IAMBackend

    put_user, put_role = IAMBackend.put_user_policy, IAMBackend.put_role_policy
    create, create_version = IAMBackend.create_policy, IAMBackend.create_policy_version

    def capped(put, entity_of, quota: int, kind: str):
        """``put`` of an inline policy, refused when the entity's inline policies together exceed ``quota``."""

        def put_within_quota(self, name, policy_name, policy_json):
            others = (text for other, text in entity_of(self, name).policies.items() if other != policy_name)
            if sum(map(_size, others)) + _size(policy_json) > quota:
                raise LimitExceededException(f"Maximum policy size of {quota} bytes exceeded for {kind} {name}")
            return put(self, name, policy_name, policy_json)

        return put_within_quota

    def managed(document: str) -> None:
        if _size(document) > MANAGED_QUOTA:
            raise LimitExceededException(f"Cannot exceed quota for PolicySize: {MANAGED_QUOTA}")

    def iam_create_policy(self, description, path, policy_document, *args, **kwargs):
        managed(policy_document)
        return create(self, description, path, policy_document, *args, **kwargs)

    def iam_create_policy_version(self, policy_arn, policy_document, set_as_default):
        managed(policy_document)
        return create_version(self, policy_arn, policy_document, set_as_default)

    IAMBackend.put_user_policy = capped(put_user, IAMBackend.get_user, USER_INLINE_QUOTA, "user")
    IAMBackend.put_role_policy = capped(put_role, IAMBackend.get_role, ROLE_INLINE_QUOTA, "role")
    IAMBackend.create_policy, IAMBackend.create_policy_version = iam_create_policy, iam_create_policy_version
