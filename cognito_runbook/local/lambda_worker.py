"""One emulated Lambda container: imports the deployed handler once, then serves
invocations read from stdin, one at a time, like a warm Lambda execution environment.

Protocol: one JSON line per request (``{"event": ...}``) and one per reply
(``{"result": ...}`` or ``{"error": type, "message": ...}``). The handler's own
prints go to stderr (the local AWS log, standing in for CloudWatch Logs).
"""

import importlib
import json
import os
import sys
import traceback


def main() -> None:
    code_dir, handler_spec = sys.argv[1], sys.argv[2]
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # handler prints -> log
    sys.path.insert(0, code_dir)
    module_name, func_name = handler_spec.rsplit(".", 1)
    try:
        handler = getattr(importlib.import_module(module_name), func_name)
    except Exception as err:  # Runtime.ImportModuleError in AWS terms
        traceback.print_exc()
        handler, import_error = None, f"{type(err).__name__}: {err}"
    context = _Context()
    for line in sys.stdin:
        request = json.loads(line)
        if handler is None:
            reply = {"error": "Runtime.ImportModuleError", "message": import_error}
        else:
            try:
                reply = {"result": handler(request["event"], context)}
                json.dumps(reply)
            except Exception as err:
                traceback.print_exc()
                reply = {"error": type(err).__name__, "message": str(err)}
        protocol.write(json.dumps(reply, default=str) + "\n")


class _Context:
    """The attributes handlers commonly read from Lambda's context object."""

    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
    function_version = "$LATEST"
    memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
    aws_request_id = ""

    def get_remaining_time_in_millis(self) -> int:
        return 30000


if __name__ == "__main__":
    main()
