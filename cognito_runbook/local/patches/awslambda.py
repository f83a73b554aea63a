"""Lambda cannot assume a role IAM has not propagated yet (part of the one place that
touches moto's internals: see ``patches/__init__.py``)."""

from __future__ import annotations

from .iam import role_is_new
from .originals import keep


def patch_role_assumption() -> None:
    """A new role cannot be assumed by Lambda for a few seconds ("The role defined for the
    function cannot be assumed by Lambda").
    https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-deployment.html
    https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency"""
    from moto.awslambda.exceptions import InvalidParameterValueException
    from moto.awslambda.models import LambdaBackend

    create_function = LambdaBackend.create_function
    keep(create_function=create_function)

    def lambda_create_function(self, spec):
        if role_is_new(spec.get("Role")):
            raise InvalidParameterValueException("The role defined for the function cannot be assumed by Lambda.")
        return create_function(self, spec)

    LambdaBackend.create_function = lambda_create_function
