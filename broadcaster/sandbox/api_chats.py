"""The device chat routes: contacts, chats, one chat, read, delete, media, photo, mark-read."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from broadcaster.sandbox.api_auth import Handler, guarded
from broadcaster.sandbox.inputs import Validator
from broadcaster.sandbox.responses import not_found, proxied, usual
from broadcaster.sandbox.state import SandboxState

__all__ = ["ChatRoutes", "routes"]


def _phone(request: Request) -> str:
    return str(request.path_params["phone"]).strip().removeprefix("+")


class ChatRoutes:
    """The `/api/wa/*` routes other than the two sends."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.chats = state.chats

    async def contacts(self, request: Request, v: Validator) -> Response:
        device = v.text("device_id")
        if (invalid := v.response()) is not None:
            return invalid
        data = [{"phone": c.phone, "name": c.name} for c in self.chats.chats(device).values()]
        return usual(True, "Contacts retrieved", data)

    async def chat_list(self, request: Request, v: Validator) -> Response:
        device = v.text("device_id")
        if (invalid := v.response()) is not None:
            return invalid
        listed = sorted(
            self.chats.chats(device).values(),
            key=lambda c: -(c.messages[-1].timestamp if c.messages else 0),
        )
        return usual(True, "Chats retrieved", [c.to_json() for c in listed])

    async def chat(self, request: Request, v: Validator) -> Response:
        device = v.text("device_id")
        if (invalid := v.response()) is not None:
            return invalid
        found = self.chats.chats(device).get(_phone(request))
        messages = [m.to_json() for m in found.messages] if found else []
        return usual(True, "Chat retrieved", messages)

    async def read(self, request: Request, v: Validator) -> Response:
        v.text("device_id")
        message_id = v.text("message_id")
        if (invalid := v.response()) is not None:
            return invalid
        message = self.chats.find(message_id)
        if message is None:
            return proxied(False, "Message not found")
        if not message.from_me:
            message.status = "read"
        return proxied(True, "Message marked as read", {"message_id": message_id})

    async def delete(self, request: Request, v: Validator) -> Response:
        device = v.text("device_id")
        message_id = v.text("message_id")
        mode = v.choice("type", ("me", "everyone"))
        if (invalid := v.response()) is not None:
            return invalid
        if not self.chats.delete(device, message_id):
            return proxied(False, "Message not found")
        return proxied(True, "Message deleted", {"message_id": message_id, "type": mode})

    async def media(self, request: Request, v: Validator) -> Response:
        v.text("device_id")
        message_id = v.text("message_id")
        if (invalid := v.response()) is not None:
            return invalid
        found = self.chats.media(message_id)
        if found is None:
            return not_found(request, "Media not found")
        content_type, body = found
        disposition = f'attachment; filename="{message_id}.{content_type.rsplit("/", 1)[-1]}"'
        return Response(
            body, media_type=content_type, headers={"Content-Disposition": disposition}
        )

    async def photo(self, request: Request, v: Validator) -> Response:
        v.text("device_id")
        if (invalid := v.response()) is not None:
            return invalid
        phone = _phone(request)
        data: dict[str, Any] = {
            "phone": phone,
            "url": f"https://pps.whatsapp.net/sandbox/{phone}.jpg",
        }
        return usual(True, "Profile photo retrieved", data)

    async def mark_read(self, request: Request, v: Validator) -> Response:
        device = v.text("device_id")
        phone = v.text("phone")
        if (invalid := v.response()) is not None:
            return invalid
        self.chats.mark_read(device, phone.removeprefix("+"))
        return proxied(True, "Chat marked as read", {"phone": phone})

    def routes(self) -> list[Route]:
        """The routes, each behind the Bearer check."""
        table: list[tuple[str, Handler, str]] = [
            ("/api/wa/contacts", self.contacts, "GET"),
            ("/api/wa/chats", self.chat_list, "GET"),
            ("/api/wa/chat/{phone}", self.chat, "GET"),
            ("/api/wa/read", self.read, "POST"),
            ("/api/wa/delete", self.delete, "POST"),
            ("/api/wa/media", self.media, "GET"),
            ("/api/wa/photo/{phone}", self.photo, "GET"),
            ("/api/wa/mark-read", self.mark_read, "POST"),
        ]
        return [Route(p, guarded(self.state, h), methods=[m]) for p, h, m in table]


def routes(state: SandboxState) -> list[Route]:
    """The `/api/wa/*` routes other than the two sends."""
    return ChatRoutes(state).routes()
