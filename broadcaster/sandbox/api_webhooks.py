"""`POST /webhook/message` (a contact writes in) and `POST /webhook/sample`."""

import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from broadcaster.sandbox.callbacks import CallbackPoster
from broadcaster.sandbox.chats import ChatMessage
from broadcaster.sandbox.inputs import Validator, normalise_phone, read_input
from broadcaster.sandbox.payloads import incoming_payload
from broadcaster.sandbox.responses import usual
from broadcaster.sandbox.state import SandboxState

__all__ = ["DEFAULT_DEVICE_KEY", "routes"]

#: The device an incoming message lands on when its payload names none.
DEFAULT_DEVICE_KEY = "sandbox-device"

_DEVICE_TYPES = ("single", "group")


def routes(state: SandboxState, callbacks: CallbackPoster) -> list[Route]:
    """The two webhook routes."""

    async def message(request: Request) -> Response:
        payload = await read_input(request)
        v = Validator(payload)
        raw = v.text("from")
        text = v.text("message")
        phone, error = normalise_phone(raw, waba=True) if raw else (None, None)
        if error:
            v.fail("from", error.replace("phone", "from"))
        if (invalid := v.response()) is not None:
            return invalid
        device = v.text("device_key", required=False) or DEFAULT_DEVICE_KEY
        waba = payload.get("type") not in _DEVICE_TYPES
        message_id = state.new_wamid() if waba else state.new_device_message_id()
        kind = str(payload.get("type") or "text") if waba else "text"
        name = payload.get("name") or payload.get("from_name")
        entry = ChatMessage(message_id, False, text, int(time.time()), kind)
        state.chats.add(device, phone or raw, entry, str(name) if name else None)
        callbacks.forward(payload)
        return usual(True, "Message received", payload)

    async def sample(request: Request) -> Response:
        data = incoming_payload(
            device_key=DEFAULT_DEVICE_KEY,
            phone="6281234567890",
            message="Halo, saya tertarik",
            waba=False,
            name="Budi",
        )
        return usual(True, "Webhook sample", data)

    return [
        Route("/webhook/message", message, methods=["POST"]),
        Route("/webhook/sample", sample, methods=["POST", "GET"]),
    ]
