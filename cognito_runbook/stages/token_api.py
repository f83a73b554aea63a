"""Stage 6: the getToken HTTP API: ``GET /token`` -> generateToken.

Console runbook: API Gateway -> HTTP API -> Lambda integration -> route GET /token ->
stage $default with auto-deploy. The console's quick create also adds the permission
for API Gateway to invoke the function; done by hand here, scoped to this API and route.
"""

from __future__ import annotations

import json

from ..aws import get_or_none, owned_by, paginate
from ..errors import StageError
from .common import Context

STAGE = "token_api"
ROUTE_KEY = "GET /token"
STAGE_NAME = "$default"


def find_api(ctx: Context) -> dict | None:
    """Our API: the configured name and our stack tag (API names are not unique)."""
    apis = paginate(ctx.client("apigatewayv2"), "get_apis", "Items")
    ours = [a for a in apis if a["Name"] == ctx.params.token_api.name and owned_by(a.get("Tags"), ctx.stack)]
    if len(ours) > 1:
        raise StageError(
            f"token_api.name: {len(ours)} HTTP APIs named '{ctx.params.token_api.name}' carry stack tag {ctx.stack} "
            f"({', '.join(a['ApiId'] for a in ours)}); delete the extra ones, then re-run"
        )
    return ours[0] if ours else None


def source_arn(ctx: Context, api_id: str) -> str:
    method, path = ROUTE_KEY.split(" ")
    return f"arn:aws:execute-api:{ctx.backend.region}:{ctx.backend.account_id}:{api_id}/*/{method}{path}"


def permission_sid(ctx: Context, api_id: str) -> str:
    return f"{ctx.stack}-invoke-{api_id}"


# The stage's access log: who asked for a token, when, and the answer; never the
# Authorization header (it carries the password).
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "sourceIp": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "responseLatency": "$context.responseLatency",
        "responseLength": "$context.responseLength",
        "integrationError": "$context.integrationErrorMessage",
    },
    separators=(",", ":"),
)


def log_group_name(ctx: Context) -> str:
    # /aws/vendedlogs/: AWS's prefix for logs delivered by services (keeps the account's
    # log resource policy small).
    return f"/aws/vendedlogs/cognito-runbook/{ctx.stack}/{ctx.params.token_api.name}-access"


def log_group_arn(ctx: Context) -> str:
    return f"arn:aws:logs:{ctx.backend.region}:{ctx.backend.account_id}:log-group:{log_group_name(ctx)}"


def find_log_group(ctx: Context) -> dict | None:
    name = log_group_name(ctx)
    groups = paginate(ctx.client("logs"), "describe_log_groups", "logGroups", logGroupNamePrefix=name)
    return next((g for g in groups if g["logGroupName"] == name), None)


def _log_group_is_ours(ctx: Context) -> bool:
    return owned_by(ctx.client("logs").list_tags_for_resource(resourceArn=log_group_arn(ctx)).get("tags"), ctx.stack)


def _ensure_log_group(ctx: Context) -> dict | None:
    """The access log's group, owned (tagged) by the stack. Returns the stage's AccessLogSettings."""
    if not ctx.params.access_logs:
        return None
    logs, name = ctx.client("logs"), log_group_name(ctx)
    group = find_log_group(ctx)
    if group is None:
        ctx.apply(STAGE, "create", "log group", name, logs.create_log_group, logGroupName=name, tags=ctx.tags)
    elif not _log_group_is_ours(ctx):
        raise StageError(
            f"token_api.access_logs: log group {name} exists but was not made by stack {ctx.stack}; delete it or turn access_logs off"
        )
    else:
        ctx.unchanged(STAGE, "log group", name)
    return {"DestinationArn": log_group_arn(ctx), "Format": ACCESS_LOG_FORMAT}


def delete_log_group(ctx: Context) -> None:
    if find_log_group(ctx) is not None and _log_group_is_ours(ctx):
        name = log_group_name(ctx)
        ctx.apply(STAGE, "delete", "log group", name, ctx.client("logs").delete_log_group, logGroupName=name)


def stage_settings(ctx: Context) -> dict:
    throttling = ctx.params.token_api.throttling
    return {"ThrottlingBurstLimit": throttling.burst_limit, "ThrottlingRateLimit": float(throttling.rate_limit)}


def ensure_token_api(ctx: Context, api: dict | None, function_arn: str | None) -> dict | None:
    """The API, route, stage and invoke permission, given our API as found (``find_api``)."""
    api2 = ctx.client("apigatewayv2")
    name = ctx.params.token_api.name
    if api is None:
        api = ctx.apply(
            STAGE,
            "create",
            "HTTP API",
            name,
            api2.create_api,
            Name=name,
            ProtocolType="HTTP",
            Tags=ctx.tags,
            Description="Exchanges HTTP Basic credentials for Cognito tokens (cognito-runbook)",
        )
    else:
        ctx.unchanged(STAGE, "HTTP API", name)
    api_id = api["ApiId"] if api else None
    integration_id = _ensure_integration(ctx, api_id, function_arn)
    _ensure_route(ctx, api_id, integration_id)
    _ensure_stage(ctx, api_id, _ensure_log_group(ctx))
    _ensure_permission(ctx, api_id, function_arn)
    return api


def _ensure_integration(ctx: Context, api_id: str | None, function_arn: str | None) -> str | None:
    api2 = ctx.client("apigatewayv2")
    want = {
        "IntegrationType": "AWS_PROXY",
        "IntegrationUri": function_arn or "",
        "PayloadFormatVersion": "2.0",
        "TimeoutInMillis": 30000,
    }
    existing = paginate(api2, "get_integrations", "Items", ApiId=api_id) if api_id else []
    ours = [i for i in existing if i.get("IntegrationType") == "AWS_PROXY"]
    if not ours:
        created = ctx.apply(
            STAGE,
            "create",
            "integration",
            "generateToken (AWS_PROXY, payload 2.0)",
            api2.create_integration,
            ApiId=api_id,
            **want,
        )
        return created["IntegrationId"] if created else None
    have = ours[0]
    ctx.converge(
        STAGE,
        "integration",
        "generateToken (AWS_PROXY, payload 2.0)",
        [k for k, v in want.items() if have.get(k) != v],
        api2.update_integration,
        ApiId=api_id,
        IntegrationId=have["IntegrationId"],
        **want,
    )
    return have["IntegrationId"]


def _ensure_route(ctx: Context, api_id: str | None, integration_id: str | None) -> None:
    api2 = ctx.client("apigatewayv2")
    target = f"integrations/{integration_id}"
    routes = (
        [r for r in paginate(api2, "get_routes", "Items", ApiId=api_id) if r["RouteKey"] == ROUTE_KEY] if api_id else []
    )
    if not routes:
        ctx.apply(
            STAGE, "create", "route", ROUTE_KEY, api2.create_route, ApiId=api_id, RouteKey=ROUTE_KEY, Target=target
        )
    elif routes[0].get("Target") != target or routes[0].get("AuthorizationType", "NONE") != "NONE":
        ctx.apply(
            STAGE,
            "update",
            "route",
            ROUTE_KEY,
            api2.update_route,
            detail="target",
            ApiId=api_id,
            RouteId=routes[0]["RouteId"],
            RouteKey=ROUTE_KEY,
            Target=target,
            AuthorizationType="NONE",
        )
    else:
        ctx.unchanged(STAGE, "route", ROUTE_KEY)


def _ensure_stage(ctx: Context, api_id: str | None, access_log: dict | None) -> None:
    api2 = ctx.client("apigatewayv2")
    want = stage_settings(ctx)
    logging = {"AccessLogSettings": access_log} if access_log else {}
    stages = {s["StageName"]: s for s in paginate(api2, "get_stages", "Items", ApiId=api_id)} if api_id else {}
    have = stages.get(STAGE_NAME)
    if have is None:
        ctx.apply(
            STAGE,
            "create",
            "stage",
            STAGE_NAME,
            api2.create_stage,
            ApiId=api_id,
            StageName=STAGE_NAME,
            AutoDeploy=True,
            DefaultRouteSettings=want,
            **logging,
        )
        return
    settings = have.get("DefaultRouteSettings") or {}
    drift = [k for k, v in want.items() if settings.get(k) != v]
    if not have.get("AutoDeploy"):
        drift.append("AutoDeploy")
    if access_log and have.get("AccessLogSettings") != access_log:
        drift.append("AccessLogSettings")
    ctx.converge(
        STAGE,
        "stage",
        STAGE_NAME,
        drift,
        api2.update_stage,
        ApiId=api_id,
        StageName=STAGE_NAME,
        AutoDeploy=True,
        # The structure is replaced as a whole: keep what others set in it (metrics, logging).
        DefaultRouteSettings={**settings, **want},
        **logging,
    )


def _invoke_statement(ctx: Context, api_id: str) -> dict | None:
    found = get_or_none(ctx.client("lambda").get_policy, FunctionName=ctx.params.token_function.name)
    if found is None:
        return None
    policy = json.loads(found["Policy"])
    return next((s for s in policy.get("Statement", []) if s.get("Sid") == permission_sid(ctx, api_id)), None)


def _ensure_permission(ctx: Context, api_id: str | None, function_arn: str | None) -> None:
    lam = ctx.client("lambda")
    label = "apigateway -> lambda:InvokeFunction"
    statement = _invoke_statement(ctx, api_id) if api_id and function_arn else None
    want_arn = source_arn(ctx, api_id) if api_id else ""
    if statement is not None:
        have_arn = statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn")
        if have_arn == want_arn:
            ctx.unchanged(STAGE, "invoke permission", label)
            return
        ctx.apply(
            STAGE,
            "delete",
            "invoke permission",
            label,
            lam.remove_permission,
            detail="wrong source ARN",
            FunctionName=ctx.params.token_function.name,
            StatementId=permission_sid(ctx, api_id),
        )
    ctx.apply(
        STAGE,
        "create",
        "invoke permission",
        label,
        lam.add_permission if api_id else None,
        FunctionName=ctx.params.token_function.name,
        StatementId=permission_sid(ctx, api_id or ""),
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=want_arn,
    )


def delete_token_api(ctx: Context) -> None:
    api = find_api(ctx)
    if api is None:
        delete_log_group(ctx)
        return
    lam = ctx.client("lambda")
    if _invoke_statement(ctx, api["ApiId"]) is not None:
        ctx.apply(
            STAGE,
            "delete",
            "invoke permission",
            permission_sid(ctx, api["ApiId"]),
            lam.remove_permission,
            FunctionName=ctx.params.token_function.name,
            StatementId=permission_sid(ctx, api["ApiId"]),
        )
    ctx.apply(
        STAGE,
        "delete",
        "HTTP API",
        api["Name"],
        ctx.client("apigatewayv2").delete_api,
        detail=f"api id {api['ApiId']}",
        ApiId=api["ApiId"],
    )
    delete_log_group(ctx)
