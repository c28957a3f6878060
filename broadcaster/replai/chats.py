"""The WhatsApp device calls of `ReplaiClient`: contacts, chats, messages and media."""

import base64
import binascii
import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO, overload
from urllib.parse import quote

from broadcaster.errors import ReplaiRejected

from .connection import ReplaiConnection
from .envelope import data_of
from .models import Chat, ChatMessage, ProfilePhoto, WaContact

__all__ = ["ChatCalls"]

_LIST_KEYS = ("items", "list", "contacts", "chats", "messages", "templates", "data")
_MEDIA_KEYS = ("base64", "data", "file", "content")
_MEDIA_PATH = "/api/wa/media"


class ChatCalls:
    """`/api/wa/*` calls other than sends; mixed into `ReplaiClient`."""

    _conn: ReplaiConnection

    def get_contacts(self, device_id: str) -> list[WaContact]:
        """The device's WhatsApp contacts."""
        body = self._get("/api/wa/contacts", device_id)
        return [WaContact.from_api(item) for item in items_of(body)]

    def get_chats(self, device_id: str) -> list[Chat]:
        """The device's conversations."""
        body = self._get("/api/wa/chats", device_id)
        return [Chat.from_api(item) for item in items_of(body)]

    def get_chat(self, device_id: str, phone: str) -> list[ChatMessage]:
        """The messages of the conversation with `phone`, oldest first."""
        body = self._get("/api/wa/chat/" + quote(phone, safe=""), device_id)
        return [ChatMessage.from_api(item) for item in items_of(body)]

    def read_message(self, device_id: str, message_id: str) -> None:
        """Mark one message as read."""
        payload = {"device_id": device_id, "message_id": message_id}
        self._conn.request("POST", "/api/wa/read", json=payload)

    def delete_message(
        self, device_id: str, message_id: str, *, for_everyone: bool = False
    ) -> None:
        """Delete a message for us only, or for everyone in the chat."""
        kind = "everyone" if for_everyone else "me"
        payload = {"device_id": device_id, "message_id": message_id, "type": kind}
        self._conn.request("POST", "/api/wa/delete", json=payload)

    def mark_chat_read(self, device_id: str, phone: str) -> None:
        """Mark the whole conversation with `phone` as read."""
        payload = {"device_id": device_id, "phone": phone}
        self._conn.request("POST", "/api/wa/mark-read", json=payload)

    def get_profile_photo(self, device_id: str, phone: str) -> ProfilePhoto:
        """The profile photo URL of `phone` (None when hidden)."""
        body = self._get("/api/wa/photo/" + quote(phone, safe=""), device_id)
        return ProfilePhoto.from_api(data_of(body), phone=phone)

    @overload
    def download_media(self, device_id: str, message_id: str, dest: None = None) -> bytes: ...

    @overload
    def download_media(
        self, device_id: str, message_id: str, dest: str | os.PathLike[str] | BinaryIO
    ) -> int: ...

    def download_media(
        self,
        device_id: str,
        message_id: str,
        dest: str | os.PathLike[str] | BinaryIO | None = None,
    ) -> bytes | int:
        """Download a message's media: its bytes, or streamed into `dest`.

        Args:
            dest: a path (written whole or not at all) or a binary file object.

        Returns:
            The bytes when `dest` is None, else the number of bytes written.
        """
        params = {"device_id": device_id, "message_id": message_id}
        if dest is None:
            return self._conn.stream(_MEDIA_PATH, params, b"".join, _media_bytes)
        if isinstance(dest, str | os.PathLike):
            path = dest
            return self._conn.stream(
                _MEDIA_PATH, params, lambda c: _write_file(path, c), _media_bytes
            )
        stream = dest
        return self._conn.stream(
            _MEDIA_PATH, params, lambda c: _write_chunks(stream, c), _media_bytes
        )

    def _get(self, path: str, device_id: str) -> Any:
        return self._conn.request("GET", path, params={"device_id": device_id})


def items_of(body: Any) -> list[Mapping[str, Any]]:
    """The list inside an answer: `data` itself, or `data.<items|contacts|...>`."""
    data = data_of(body)
    if isinstance(data, Mapping):
        data = next((data[k] for k in _LIST_KEYS if isinstance(data.get(k), list)), [])
    if not isinstance(data, list):
        return []
    return [item for item in data if isinstance(item, Mapping)]


def _media_bytes(data: Any) -> bytes:
    """The file in a JSON answer: `data.base64` (or `data`, `file`...) in base64."""
    if isinstance(data, Mapping):
        data = next((data[k] for k in _MEDIA_KEYS if data.get(k)), None)
    if isinstance(data, str):
        with contextlib.suppress(binascii.Error, ValueError):
            # A data URL ("data:image/png;base64,....") keeps the part after the comma.
            return base64.b64decode(data.split(",", 1)[-1], validate=True)
    raise ReplaiRejected("the media answer holds no file content")


def _write_chunks(dest: BinaryIO, chunks: Iterator[bytes]) -> int:
    written = 0
    for chunk in chunks:
        dest.write(chunk)
        written += len(chunk)
    return written


def _write_file(path: str | os.PathLike[str], chunks: Iterator[bytes]) -> int:
    """Write to `<path>.part`, then rename: a broken download leaves no file behind."""
    part = os.fspath(path) + ".part"
    try:
        with open(part, "wb") as file:
            written = _write_chunks(file, chunks)
        os.replace(part, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(part)
        raise
    return written
