"""Device status and templates, on both route families.

Every device_id, waba_id or device_key is connected, until a send to a number ending in
0004 disconnects it (until `/_sandbox/reset`).
"""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from broadcaster.sandbox.api_auth import guarded
from broadcaster.sandbox.inputs import Validator, read_input
from broadcaster.sandbox.responses import json_response, usual
from broadcaster.sandbox.state import SandboxState
from broadcaster.sandbox.templates import TEMPLATES

__all__ = ["routes"]


def _status(state: SandboxState, device: str, key: str) -> Response:
    connected = device not in state.disconnected
    data: dict[str, Any] = {
        key: device,
        "status": "connected" if connected else "disconnected",
        "connected": connected,
    }
    return usual(True, "Device connected" if connected else "Device not connected", data)


def _templates() -> Response:
    return usual(True, "Templates retrieved", [t.to_json() for t in TEMPLATES])


def _app_keys(v: Validator) -> tuple[str, Response | None]:
    api_key = v.text("api_key")
    device = v.text("device_key")
    if (invalid := v.response()) is not None:
        return device, invalid
    if api_key == "invalid":
        return device, json_response({"message": "Unauthenticated."}, 401)
    return device, None


def routes(state: SandboxState) -> list[Route]:
    """`/api/device/*` and `/api-app/integration/*`."""

    async def status(request: Request, v: Validator) -> Response:
        device = v.text("device_id")
        return v.response() or _status(state, device, "device_id")

    async def templates(request: Request, v: Validator) -> Response:
        v.text("device_id")
        return v.response() or _templates()

    async def checking_device(request: Request) -> Response:
        device, refusal = _app_keys(Validator(await read_input(request)))
        return refusal or _status(state, device, "device_key")

    async def app_templates(request: Request) -> Response:
        _, refusal = _app_keys(Validator(await read_input(request)))
        return refusal or _templates()

    return [
        Route("/api/device/status", guarded(state, status), methods=["GET"]),
        Route("/api/device/templates", guarded(state, templates), methods=["GET"]),
        Route("/api-app/integration/checking-device", checking_device, methods=["POST", "GET"]),
        Route("/api-app/integration/get-templates", app_templates, methods=["GET", "POST"]),
    ]
