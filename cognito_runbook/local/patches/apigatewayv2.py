"""API Gateway v2 (HTTP APIs): UpdateStage, which moto lacks (part of the one place that
touches moto's internals: see ``patches/__init__.py``)."""

from __future__ import annotations

import json

STAGE_FIELDS = {
    "defaultRouteSettings": "default_route_settings",
    "accessLogSettings": "access_log_settings",
    "autoDeploy": "auto_deploy",
    "description": "description",
    "routeSettings": "route_settings",
    "stageVariables": "stage_variables",
    "clientCertificateId": "client_certificate_id",
}


def patch_stage_updates() -> None:
    """moto 5.2 has no UpdateStage (it answers 500). As AWS does: the fields sent replace
    their values (a structure as a whole), the others stay.
    https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-stages-stagename.html#UpdateStage"""
    from datetime import datetime
    from urllib.parse import unquote

    from moto.apigatewayv2.responses import ApiGatewayV2Response

    def update_stage(self):
        api_id, stage_name = self.path.split("/")[-3], unquote(self.path.split("/")[-1])
        stage = self.apigatewayv2_backend.get_stage(api_id, stage_name)
        body = json.loads(self.body or "{}")
        for key, attribute in STAGE_FIELDS.items():
            if key in body:
                setattr(stage, attribute, body[key])
        stage.updated = datetime.now()
        return 200, {}, json.dumps(stage.to_json())

    ApiGatewayV2Response.update_stage = update_stage
