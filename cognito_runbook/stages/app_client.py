"""Stage 1, the user pool's public app client.

Console runbook: "Create user pool" (public client, callback http://localhost, all auth
flows, implicit grant). Part of the user-pool stage: ``user_pool.ensure_user_pool`` calls it,
and the client goes with the pool on teardown.

UpdateUserPoolClient resets each setting it is not sent, so an update is the client as
read with only the managed fields changed; the rest (logout URLs, ...) is listed as "kept".
"""

from __future__ import annotations

from ..aws import fit_to_shape, managed_drift, paginate, request_shape, unmanaged_settings, update_request
from ..errors import StageError
from ..params import CONSOLE_AUTH_FLOWS
from .common import Context, report_kept

STAGE = "user_pool"  # its changes are the user-pool stage's
EXPLICIT_AUTH_FLOWS = list(CONSOLE_AUTH_FLOWS)  # the default of app_client.auth_flows
# What Cognito fills in by itself on every client: not worth listing as "kept".
CLIENT_FILLED_BY_AWS = ("AuthSessionValidity", "RefreshTokenRotation.RetryGracePeriodSeconds")


def client_config(ctx: Context) -> dict:
    """The app client settings the runbook manages (UpdateUserPoolClient's names)."""
    client = ctx.params.app_client
    return {
        "ClientName": client.name,
        "RefreshTokenValidity": client.refresh_token_days,
        "AccessTokenValidity": client.access_token_minutes,
        "IdTokenValidity": client.id_token_minutes,
        "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "days"},
        "ExplicitAuthFlows": list(client.auth_flows),
        "SupportedIdentityProviders": ["COGNITO"],
        "CallbackURLs": list(client.callback_urls),
        "AllowedOAuthFlows": list(client.oauth_flows),
        "AllowedOAuthScopes": list(client.oauth_scopes),
        "AllowedOAuthFlowsUserPoolClient": True,
        "PreventUserExistenceErrors": "ENABLED",
        "EnableTokenRevocation": True,
    }


def find_client(ctx: Context, pool_id: str) -> dict | None:
    """The pool's client of the configured name (client names are not unique in a pool)."""
    cognito = ctx.client("cognito-idp")
    matches = [
        c
        for c in paginate(cognito, "list_user_pool_clients", "UserPoolClients", UserPoolId=pool_id)
        if c["ClientName"] == ctx.params.app_client.name
    ]
    if not matches:
        return None
    if len(matches) > 1:
        raise StageError(
            f"app_client.name: pool {pool_id} has {len(matches)} app clients named '{ctx.params.app_client.name}'; delete the extra ones, then re-run"
        )
    return cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=matches[0]["ClientId"])["UserPoolClient"]


def ensure_client(ctx: Context, pool: dict | None, client: dict | None) -> None:
    """The client as the params describe it, given the client as found (None: missing)."""
    cognito = ctx.client("cognito-idp")
    managed = client_config(ctx)
    if client is None:
        ctx.apply(
            STAGE,
            "create",
            "app client",
            managed["ClientName"],
            cognito.create_user_pool_client,
            UserPoolId=pool["Id"] if pool else "",
            GenerateSecret=False,
            **managed,
        )
        return
    ctx.converge(
        STAGE,
        "app client",
        managed["ClientName"],
        managed_drift(client, managed),
        cognito.update_user_pool_client,
        unchanged=client["ClientId"],
        **update_request(
            cognito, "UpdateUserPoolClient", client, managed, UserPoolId=pool["Id"], ClientId=client["ClientId"]
        ),
    )
    fitted = fit_to_shape(client, request_shape(cognito, "UpdateUserPoolClient"))
    for identity in ("UserPoolId", "ClientId"):
        fitted.pop(identity, None)
    found = unmanaged_settings(fitted, managed, CLIENT_FILLED_BY_AWS)
    report_kept(ctx, STAGE, "app client setting", managed["ClientName"], found)
