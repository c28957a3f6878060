"""Chats, contacts and media per device, built from sends and incoming messages.

Every device (or WABA id) starts with one seeded chat that holds an image message, so
`/api/wa/media` has something to download before any send.
"""

import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SEED_MEDIA_ID", "SEED_PHONE", "Chat", "ChatMessage", "ChatStore"]

#: The id of the seeded image message.
SEED_MEDIA_ID = "3EB0SANDBOXMEDIA0001"
#: The phone number of the seeded chat.
SEED_PHONE = "6281100000000"


def _tiny_png() -> bytes:
    """A valid 1x1 green PNG, small enough to build at import."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x25\xd3\x66")
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


_MEDIA = {SEED_MEDIA_ID: ("image/png", _tiny_png())}


@dataclass(slots=True)
class ChatMessage:
    """One message of a chat, ours (`from_me`) or the contact's."""

    id: str
    from_me: bool
    message: str
    timestamp: int
    type: str = "text"
    status: str = "sent"

    def to_json(self) -> dict[str, Any]:
        """The message as `/api/wa/chat/{phone}` lists it."""
        return {
            "id": self.id,
            "from_me": self.from_me,
            "message": self.message,
            "type": self.type,
            "timestamp": self.timestamp,
            "status": self.status,
            "has_media": self.id in _MEDIA,
        }


@dataclass(slots=True)
class Chat:
    """A conversation with one phone number."""

    phone: str
    name: str
    messages: list[ChatMessage] = field(default_factory=list)
    unread: int = 0

    def to_json(self) -> dict[str, Any]:
        """The chat as `/api/wa/chats` lists it."""
        last = self.messages[-1] if self.messages else None
        return {
            "phone": self.phone,
            "name": self.name,
            "last_message": last.message if last else None,
            "timestamp": last.timestamp if last else None,
            "unread_count": self.unread,
        }


def _seed_chat() -> Chat:
    chat = Chat(SEED_PHONE, "Sandbox Demo")
    chat.messages.append(
        ChatMessage("3EB0SANDBOXTEXT00001", False, "Halo, ini katalognya?", 1_700_000_000)
    )
    chat.messages.append(
        ChatMessage(SEED_MEDIA_ID, False, "Foto produk", 1_700_000_060, "image", "read")
    )
    chat.unread = 2
    return chat


class ChatStore:
    """Chats per device id; messages are also indexed by id."""

    def __init__(self) -> None:
        self._devices: dict[str, dict[str, Chat]] = {}
        self._index: dict[str, ChatMessage] = {}

    def chats(self, device: str) -> dict[str, Chat]:
        """The device's chats by phone, seeded on first use."""
        chats = self._devices.get(device)
        if chats is None:
            seed = _seed_chat()
            chats = self._devices[device] = {seed.phone: seed}
            self._index.update((m.id, m) for m in seed.messages)
        return chats

    def _chat(self, device: str, phone: str, name: str | None) -> Chat:
        chats = self.chats(device)
        chat = chats.get(phone)
        if chat is None:
            chat = chats[phone] = Chat(phone, name or f"Kontak {phone[-4:]}")
        elif name:
            chat.name = name
        return chat

    def add(self, device: str, phone: str, message: ChatMessage, name: str | None = None) -> None:
        """Append a message to the chat with `phone`, creating the chat if needed."""
        chat = self._chat(device, phone, name)
        chat.messages.append(message)
        if not message.from_me:
            chat.unread += 1
        self._index[message.id] = message

    def find(self, message_id: str) -> ChatMessage | None:
        """The message with this id, on any device."""
        return self._index.get(message_id)

    def delete(self, device: str, message_id: str) -> bool:
        """Remove a message from the device's chats; False when it is not there."""
        for chat in self.chats(device).values():
            for i, message in enumerate(chat.messages):
                if message.id == message_id:
                    del chat.messages[i]
                    self._index.pop(message_id, None)
                    return True
        return False

    def mark_read(self, device: str, phone: str) -> bool:
        """Zero the unread count of a chat; False when there is no such chat."""
        chat = self.chats(device).get(phone)
        if chat is None:
            return False
        chat.unread = 0
        return True

    @staticmethod
    def media(message_id: str) -> tuple[str, bytes] | None:
        """The (content type, bytes) of a media message, or None."""
        return _MEDIA.get(message_id)

    def clear(self) -> None:
        """Forget every chat (the seeded one comes back on next use)."""
        self._devices.clear()
        self._index.clear()
