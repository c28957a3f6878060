"""Posting webhook callbacks, in the background, with bounded concurrency.

Replai posts each callback once, with no signature and no retry; so does the sandbox. A
failed post is logged and dropped. Callbacks never delay the send that caused them: each
accepted send gets one task that sleeps `callback_delay` between its statuses.
"""

import asyncio
import logging
import time
from typing import Any

import httpx

from broadcaster.phones import mask_phone
from broadcaster.sandbox.chats import ChatMessage
from broadcaster.sandbox.payloads import SentMessage, incoming_payload, status_payload
from broadcaster.sandbox.scripts import callback_plan
from broadcaster.sandbox.state import SandboxState

__all__ = ["DEFAULT_CONCURRENCY", "CallbackPoster"]

logger = logging.getLogger(__name__)

#: At most this many callback posts in flight at once.
DEFAULT_CONCURRENCY = 50
#: Seconds a callback post may take.
DEFAULT_TIMEOUT = 5.0


class CallbackPoster:
    """Posts status and incoming-message callbacks to the configured webhook URL.

    Call `start()` inside the event loop (the app's lifespan does) and `close()` at the end.
    """

    def __init__(self, state: SandboxState, *, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        self._state = state
        self._concurrency = concurrency
        self._client: httpx.AsyncClient | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Open the shared HTTP client."""
        limits = httpx.Limits(max_connections=self._concurrency)
        self._client = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, limits=limits)
        self._semaphore = asyncio.Semaphore(self._concurrency)

    async def close(self) -> None:
        """Cancel pending callbacks and close the client."""
        for task in list(self._tasks):
            task.cancel()
        if self._client is not None:
            await self._client.aclose()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def after_send(self, sent: SentMessage) -> None:
        """Schedule the status callbacks (and scripted reply) of an accepted send."""
        if self._state.config.webhook_url:
            self._spawn(self._follow(sent, self._state.epoch))

    def forward(self, payload: dict[str, Any]) -> None:
        """Post one payload (an incoming message) in the background."""
        if self._state.config.webhook_url:
            self._spawn(self.post(payload))

    async def _follow(self, sent: SentMessage, epoch: int) -> None:
        state = self._state
        plan = callback_plan(sent.phone)
        for status in plan.statuses:
            await asyncio.sleep(state.config.callback_delay)
            if state.epoch != epoch:
                return
            message = state.chats.find(sent.message_id)
            if message is not None:
                message.status = status
            error = plan.error if status == "failed" else None
            await self.post(status_payload(sent, status, int(time.time()), error))
        if plan.reply is not None:
            await asyncio.sleep(state.config.callback_delay)
            if state.epoch == epoch:
                await self.post(self._reply(sent, plan.reply))

    def _reply(self, sent: SentMessage, text: str) -> dict[str, Any]:
        state = self._state
        reply_id = state.new_wamid() if sent.waba else state.new_device_message_id()
        state.chats.add(
            sent.sender, sent.phone, ChatMessage(reply_id, False, text, int(time.time()))
        )
        return incoming_payload(
            device_key=sent.sender, phone=sent.phone, message=text, waba=sent.waba
        )

    async def post(self, payload: dict[str, Any]) -> None:
        """Post `payload` to the current webhook URL once; failures are logged and dropped."""
        url = self._state.config.webhook_url
        if not url or self._client is None or self._semaphore is None:
            return
        async with self._semaphore:
            try:
                response = await self._client.post(url, json=payload)
            except httpx.HTTPError as exc:
                self._state.callbacks_failed += 1
                logger.warning("callback post to %s failed: %r", url, exc)
                return
        self._state.callbacks_posted += 1
        if response.status_code >= 400:
            logger.info(
                "webhook answered %s to a callback for %s",
                response.status_code,
                mask_phone(str(payload.get("phone") or payload.get("from") or "")),
            )
