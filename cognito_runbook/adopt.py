"""Adopt resources built by hand (IBM's console runbook, say) as a stack's own.

The runbook finds its resources by name *and* stack tag, so a hand-built pool is never
found. Adopting compares the resources with the params, shows what it would change (the
tags it adds; the settings the next run would change; the users, groups and memberships
the params do not list), and on confirmation tags them. It deletes and resets nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import iam_policy
from .aws import NOT_FOUND, STACK_TAG, get_or_none, owner, paginate
from .display import Table, Tables
from .errors import UsageError, aws_errors
from .params import Params, parse_params
from .params_file import ParamsEdit
from .runbook import STAGES, Runbook
from .stages import groups as groups_stage
from .stages import memberships as memberships_stage
from .stages import users as users_stage
from .stages.common import Change, sign_in_name

STAGE = "adopt"


@dataclass
class Resource:
    kind: str  # "user pool", "Lambda function", "HTTP API"
    name: str
    arn: str
    tagged: bool  # already carries this stack's tag
    service: str
    found: dict  # as described by AWS (the seed of the adoption plan)


@dataclass
class Adoption:
    """What adopting would do. ``settings``: params field -> (params value, found value) for
    what identifies the resources (names, sign-in, domain); they must agree before tagging."""

    runbook: Runbook
    params_path: Path
    resources: list[Resource]
    settings: dict[str, tuple[Any, Any]]
    directory: list[list[str]]  # kind, name, in the params?, detail
    next_run: list[Change] = field(default_factory=list)
    edit: ParamsEdit | None = None  # --write-params: the params file with what was found

    @property
    def mismatches(self) -> dict[str, tuple[Any, Any]]:
        return {k: v for k, v in self.settings.items() if v[0] != v[1]}


def survey(
    runbook: Runbook,
    params_path: str | Path,
    pool_id: str,
    client_id: str | None = None,
    function: str | None = None,
    api_id: str | None = None,
    write_params: bool = False,
) -> Adoption:
    """Look at the resources and compare them with the params; changes nothing."""
    # Locally, the operator holds adopt's one-time grants (`iam-policy --adopt`) as on AWS.
    iam_policy.grant_local_operator(runbook.params, runbook.backend, adopt=True)
    with aws_errors("surveying the resources to adopt"):
        pool = _pool(runbook, pool_id)
        client = _client(runbook, pool, client_id)
        resources = [pool]
        settings = _pool_settings(runbook.params, pool.found)
        if client:
            settings["app_client.name"] = (runbook.params.app_client.name, client["ClientName"])
        if function:
            resources.append(_function(runbook, function))
            settings["token_function.name"] = (runbook.params.token_function.name, function)
        if api_id:
            api = _api(runbook, api_id)
            resources.append(api)
            settings["token_api.name"] = (runbook.params.token_api.name, api.name)
        directory, additions = _directory(runbook, pool.found)
    adoption = Adoption(runbook, Path(params_path), resources, settings, directory)
    params = _adopted_params(runbook.params, adoption, additions if write_params else {})
    if write_params:
        adoption.edit = _params_edit(adoption, additions)
    adoption.next_run = _next_run(runbook, params, resources, client)
    return adoption


def adopt(adoption: Adoption) -> list[Change]:
    """Write the params (with --write-params), then tag each resource as the stack's."""
    runbook, stack = adoption.runbook, adoption.runbook.params.stack
    unresolved = adoption.mismatches if adoption.edit is None else {}
    if unresolved:
        lines = "\n".join(f"  - {k}: the params say {a!r}, AWS has {b!r}" for k, (a, b) in unresolved.items())
        raise UsageError(
            "adopt: the params must name the resources as AWS has them, or the runbook will not find them "
            f"(nothing was changed):\n{lines}\nSet these in {adoption.params_path}, or pass --write-params"
        )
    if adoption.edit is not None:
        adoption.edit.save()
    ctx, before = runbook.ctx, len(runbook.ctx.changes)
    with aws_errors("adopting"):
        for resource in adoption.resources:
            if resource.tagged:
                ctx.unchanged(STAGE, resource.kind, resource.name, f"already carries {STACK_TAG}={stack}")
                continue
            client = ctx.client(resource.service)
            call, arn_field = {
                "cognito-idp": (client.tag_resource, "ResourceArn"),
                "lambda": (client.tag_resource, "Resource"),
                "apigatewayv2": (client.tag_resource, "ResourceArn"),
            }[resource.service]
            ctx.apply(
                STAGE,
                "update",
                resource.kind,
                resource.name,
                call,
                detail=f"tagged {STACK_TAG}={stack}",
                **{arn_field: resource.arn},
                Tags=ctx.tags,
            )
    runbook.found.forget_all()
    return ctx.changes[before:]


def report(survey: Adoption) -> Tables:
    """What adopting would do, as tables."""
    tables = [
        Table(
            ["resource", "name", "tag"],
            [[r.kind, r.name, "already this stack's" if r.tagged else "to be added"] for r in survey.resources],
            f"Resources to adopt as stack {survey.runbook.params.stack} (nothing is deleted or reset)",
        ),
        Table(
            ["params field", "params", "in AWS", ""],
            [[k, a, b, "same" if a == b else "differs"] for k, (a, b) in survey.settings.items()],
            "Names and creation settings (must agree, or --write-params writes what AWS has)",
        ),
        Table(
            ["kind", "name", "in the params", "detail"], survey.directory, "Users, groups and memberships in the pool"
        ),
        Table(
            ["action", "resource", "name", "detail"],
            [[c.action, c.resource, c.name, c.detail] for c in survey.next_run],
            "Then the next run would (as the params read after adopting)",
        ),
    ]
    return Tables(*tables)


# -- the resources -----------------------------------------------------------------------


def _claimed(kind: str, name: str, tags, stack: str, option: str) -> bool:
    holder = owner(tags)
    if holder and holder != stack:
        raise UsageError(f"{option}: the {kind} {name} belongs to stack {holder}; it cannot be adopted by {stack}")
    return holder == stack


def _pool(runbook: Runbook, pool_id: str) -> Resource:
    cognito = runbook.backend.client("cognito-idp")
    found = get_or_none(cognito.describe_user_pool, UserPoolId=pool_id)
    if found is None:
        raise UsageError(f"--pool-id: no user pool {pool_id} in {runbook.backend.region}; check the ID and the region")
    pool = found["UserPool"]
    tagged = _claimed("user pool", pool_id, pool.get("UserPoolTags"), runbook.params.stack, "--pool-id")
    return Resource("user pool", f"{pool['Name']} ({pool_id})", pool["Arn"], tagged, "cognito-idp", pool)


def _client(runbook: Runbook, pool: Resource, client_id: str | None) -> dict | None:
    """The given client; else the one named as the params say; else the pool's only one."""
    cognito, pool_id = runbook.backend.client("cognito-idp"), pool.found["Id"]
    if client_id:
        found = get_or_none(cognito.describe_user_pool_client, UserPoolId=pool_id, ClientId=client_id)
        if found is None:
            raise UsageError(f"--client-id: no app client {client_id} in pool {pool_id}")
        return found["UserPoolClient"]
    clients = paginate(cognito, "list_user_pool_clients", "UserPoolClients", UserPoolId=pool_id)
    named = [c for c in clients if c["ClientName"] == runbook.params.app_client.name]
    chosen = named or clients
    if len(chosen) > 1:
        names = ", ".join(f"{c['ClientName']} ({c['ClientId']})" for c in clients)
        raise UsageError(f"--client-id: pool {pool_id} has {len(clients)} app clients ({names}); name one")
    if not chosen:
        return None  # the next run creates one
    return cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=chosen[0]["ClientId"])["UserPoolClient"]


def _function(runbook: Runbook, name: str) -> Resource:
    found = get_or_none(runbook.backend.client("lambda").get_function, FunctionName=name)
    if found is None:
        raise UsageError(f"--function: no Lambda function {name} in {runbook.backend.region}")
    tagged = _claimed("Lambda function", name, found.get("Tags"), runbook.params.stack, "--function")
    return Resource("Lambda function", name, found["Configuration"]["FunctionArn"], tagged, "lambda", found)


def _api(runbook: Runbook, api_id: str) -> Resource:
    found = get_or_none(runbook.backend.client("apigatewayv2").get_api, ApiId=api_id, missing=NOT_FOUND)
    if found is None:
        raise UsageError(f"--api-id: no HTTP API {api_id} in {runbook.backend.region}")
    found.pop("ResponseMetadata", None)
    tagged = _claimed("HTTP API", api_id, found.get("Tags"), runbook.params.stack, "--api-id")
    arn = f"arn:aws:apigateway:{runbook.backend.region}::/apis/{api_id}"
    return Resource("HTTP API", f"{found['Name']} ({api_id})", arn, tagged, "apigatewayv2", found)


def _pool_settings(params: Params, pool: dict) -> dict[str, tuple[Any, Any]]:
    """The pool's names and what Cognito fixes at creation, against the params."""
    settings = {
        "user_pool.name": (params.user_pool.name, pool["Name"]),
        "user_pool.sign_in": (
            params.user_pool.sign_in,
            "email" if "email" in (pool.get("UsernameAttributes") or []) else "username",
        ),
    }
    case = (pool.get("UsernameConfiguration") or {}).get("CaseSensitive")
    if case is not None:
        settings["user_pool.case_sensitive_usernames"] = (params.user_pool.case_sensitive_usernames, case)
    if pool.get("Domain"):
        settings["user_pool.domain_prefix"] = (params.domain_prefix, pool["Domain"])
    return settings


# -- users, groups and memberships ----------------------------------------------------------


def _directory(runbook: Runbook, pool: dict) -> tuple[list[list[str]], dict]:
    """The pool's users, groups and memberships against the params, and the entries the
    params would need to list them (users' passwords left alone: ``prompt``)."""
    ctx, pool_id = runbook.ctx, pool["Id"]
    users = users_stage.pool_users(ctx, pool_id)
    groups = groups_stage.pool_groups(ctx, pool_id)
    members = memberships_stage.pool_memberships(ctx, pool_id, sorted(groups))
    listed_users = {users_stage.user_key(ctx, u.name) for u in ctx.params.users}
    listed_groups = {g.name for g in ctx.params.groups}
    rows, new_users, new_groups = [], [], []
    for key, user in sorted(users.items()):
        name = sign_in_name(ctx, user)
        listed = key in listed_users
        rows.append(["user", name, "yes" if listed else "no", user["UserStatus"]])
        if not listed:
            entry = {"name": name, "password": "prompt"}
            email = next((a["Value"] for a in user.get("Attributes", []) if a["Name"] == "email"), None)
            if email and email != name:
                entry["email"] = email
            if not user.get("Enabled", True):
                entry["enabled"] = False
            new_users.append(entry)
    for name, group in sorted(groups.items()):
        rows.append(["group", name, "yes" if name in listed_groups else "no", group.get("Description", "")])
        if name not in listed_groups:
            entry = {"name": name, "description": group.get("Description", "")}
            if group.get("Precedence") is not None:
                entry["precedence"] = group["Precedence"]
            new_groups.append(entry)
    for user, user_groups in sorted(members.items()):
        for group in sorted(user_groups):
            listed = group in ctx.params.memberships.get(user, [])
            rows.append(["membership", f"{user} -> {group}", "yes" if listed else "no", ""])
    return rows, {"users": new_users, "groups": new_groups, "memberships": members}


def _merged_memberships(params: Params, additions: dict) -> dict[str, list[str]]:
    """The params' memberships, plus the pool's (so the next run removes none)."""
    merged = {u: list(gs) for u, gs in params.memberships.items()}
    for user, groups in additions.get("memberships", {}).items():
        have = merged.setdefault(user, [])
        have += [g for g in sorted(groups) if g not in have]
    return merged


def _adopted_params(params: Params, adoption: Adoption, additions: dict) -> Params:
    """The params as they will read after adopting: names as found (and, with
    --write-params, the pool's users, groups and memberships)."""
    raw = params.model_dump(exclude_none=True)
    for dotted, (_, found) in adoption.settings.items():
        section, key = dotted.split(".")
        raw[section][key] = found
    if additions:
        raw["users"] = raw.get("users", []) + additions["users"]
        raw["groups"] = raw.get("groups", []) + additions["groups"]
        raw["memberships"] = _merged_memberships(params, additions)
    return parse_params(raw, source="the adopted resources")


def _params_edit(adoption: Adoption, additions: dict) -> ParamsEdit:
    params = adoption.runbook.params
    edit = ParamsEdit.read(adoption.params_path)
    for dotted, (_, found) in adoption.mismatches.items():
        edit.set_value(dotted, found)
    edit.set_named("users", [u.model_dump(exclude_none=True) for u in params.users] + additions["users"])
    edit.set_named("groups", [g.model_dump(exclude_none=True) for g in params.groups] + additions["groups"])
    edit.set_memberships(_merged_memberships(params, additions))
    return edit


# -- what the next run would change ----------------------------------------------------------


def _next_run(runbook: Runbook, params: Params, resources: list[Resource], client: dict | None) -> list[Change]:
    """A plan of every stage, with the resources seen as they will be once tagged."""
    with aws_errors("planning the next run"):
        planner = Runbook(params, runbook.backend.planning())
        tags = {STACK_TAG: params.stack}
        for resource in resources:
            found = {**resource.found}
            if resource.service == "cognito-idp":
                planner.found.seed(pool={**found, "UserPoolTags": {**(found.get("UserPoolTags") or {}), **tags}})
                planner.found.seed(client=client)
            elif resource.service == "lambda":
                planner.found.seed(function={**found, "Tags": {**(found.get("Tags") or {}), **tags}})
            else:
                planner.found.seed(api={**found, "Tags": {**(found.get("Tags") or {}), **tags}})
        for name in STAGES:
            planner.run_stage(name)
    return [c for c in planner.ctx.changes if c.action != "unchanged"]
