"""The `/_sandbox/*` control routes (no auth): sends report, reset, configuration."""

import json
import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from broadcaster.sandbox.responses import json_response
from broadcaster.sandbox.state import SandboxState

__all__ = ["routes"]

logger = logging.getLogger(__name__)

_TRUE = ("1", "true", "yes", "on")


def routes(state: SandboxState) -> list[Route]:
    """`GET /_sandbox/sends`, `POST /_sandbox/reset`, `GET|POST /_sandbox/config`,
    `POST /_sandbox/disconnect` (a sender's sends answer 419 Device not connected)."""

    async def sends(request: Request) -> Response:
        params = request.query_params
        try:
            since = float(params["since"]) if params.get("since") else None
        except ValueError:
            return json_response({"message": "since must be a unix time"}, 422)
        summary = params.get("summary", "").lower() in _TRUE
        body = state.sends.report(since=since, summary=summary)
        body["callbacks_posted"] = state.callbacks_posted
        body["callbacks_failed"] = state.callbacks_failed
        body["callbacks_dropped"] = state.callbacks_dropped
        body["throttled"] = state.throttled
        return json_response(body)

    async def reset(request: Request) -> Response:
        state.reset()
        logger.info("sandbox reset")
        return json_response({"status": True, "message": "Sandbox reset"})

    async def config(request: Request) -> Response:
        if request.method == "POST":
            try:
                patch = json.loads(await request.body() or b"{}")
                if not isinstance(patch, dict):
                    raise ValueError("expected a JSON object")
                state.config.apply(patch)
            except ValueError as exc:
                return json_response({"message": str(exc), "errors": {"config": [str(exc)]}}, 422)
            logger.info("sandbox config changed: %s", sorted(patch))
        return json_response(state.config.to_json())

    async def disconnect(request: Request) -> Response:
        return await _disconnect(state, request)

    return [
        Route("/_sandbox/disconnect", disconnect, methods=["POST"]),
        Route("/_sandbox/sends", sends, methods=["GET"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/config", config, methods=["GET", "POST"]),
    ]


async def _disconnect(state: SandboxState, request: Request) -> Response:
    """Disconnect a sender: its sends answer 419 until the next reset."""
    try:
        body = json.loads(await request.body() or b"{}")
        sender = str(body["sender"]) if isinstance(body, dict) else ""
    except (ValueError, KeyError):
        sender = ""
    if not sender:
        return json_response({"message": 'give {"sender": id}'}, 422)
    state.disconnected.add(sender)
    return json_response({"status": True, "message": f"{sender} disconnected"})
