"""Posting webhook callbacks, in the background, with bounded concurrency.

Replai posts each callback once, with no signature and no retry; so does the sandbox. A
failed post is counted, logged and dropped. Callbacks never delay the send that caused
them: each accepted send gets one task that sleeps `callback_delay` between its statuses.
Posts go through one shared `KeepAlivePoster` (see `posting` for why not httpx), at most
`DEFAULT_CONCURRENCY` at once. When the receiver cannot keep up, at most `MAX_PENDING` sends
wait for their callbacks; later ones get none and are counted as dropped. With
`callbacks_first` the statuses are posted before the send is answered instead
(`before_answer`), the reply still afterwards.
"""

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

from broadcaster.redact import redact_url
from broadcaster.sandbox.chats import ChatMessage
from broadcaster.sandbox.payloads import (
    SentMessage,
    incoming_payload,
    status_payload,
    whatsapp_id,
)
from broadcaster.sandbox.posting import KeepAlivePoster, PostError
from broadcaster.sandbox.scripts import CallbackPlan, callback_plan
from broadcaster.sandbox.state import SandboxState

__all__ = ["DEFAULT_CONCURRENCY", "MAX_PENDING", "CallbackPoster"]

logger = logging.getLogger(__name__)

#: At most this many callback posts in flight at once.
DEFAULT_CONCURRENCY = 50
#: Seconds one callback post may take.
DEFAULT_TIMEOUT = 5.0
#: At most this many sends waiting for their callbacks.
MAX_PENDING = 100_000


class CallbackPoster:
    """Posts status and incoming-message callbacks to the configured webhook URL.

    Call `start()` inside the event loop (the app's lifespan does) and `close()` at the end.
    """

    def __init__(self, state: SandboxState, *, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        self._state = state
        self._concurrency = concurrency
        self._poster: KeepAlivePoster | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Open the shared poster."""
        self._poster = KeepAlivePoster(max_connections=self._concurrency, timeout=DEFAULT_TIMEOUT)

    async def close(self) -> None:
        """Cancel pending callbacks and close idle connections."""
        for task in list(self._tasks):
            task.cancel()
        if self._poster is not None:
            await self._poster.aclose()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        if len(self._tasks) >= MAX_PENDING:
            coro.close()
            self._state.callbacks_dropped += 1
            return
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def after_send(self, sent: SentMessage) -> None:
        """Schedule the status callbacks (and scripted reply) of an accepted send."""
        if self._state.config.webhook_url:
            self._spawn(self._follow(sent, self._state.epoch))

    async def before_answer(self, sent: SentMessage) -> None:
        """Post the status callbacks of an accepted send now, one after the other, and
        schedule its scripted reply (`SandboxConfig.callbacks_first`: the send is answered
        once they are posted)."""
        if not self._state.config.webhook_url:
            return
        plan, epoch = callback_plan(sent.phone), self._state.epoch
        for status in plan.statuses:
            await self._post_status(sent, status, plan)
        if plan.reply is not None:
            self._spawn(self._reply_later(sent, plan.reply, epoch))

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
            await self._post_status(sent, status, plan)
        if plan.reply is not None:
            await self._reply_later(sent, plan.reply, epoch)

    async def _post_status(self, sent: SentMessage, status: str, plan: CallbackPlan) -> None:
        message = self._state.chats.find(sent.message_id)
        if message is not None:
            message.status = status
        error = plan.error if status == "failed" else None
        await self.post(status_payload(sent, status, int(time.time()), error))

    async def _reply_later(self, sent: SentMessage, text: str, epoch: int) -> None:
        await asyncio.sleep(self._state.config.callback_delay)
        if self._state.epoch == epoch:
            await self.post(self._reply(sent, text))

    def _reply(self, sent: SentMessage, text: str) -> dict[str, Any]:
        state = self._state
        reply_id = state.new_wamid() if sent.waba else state.new_device_message_id()
        message = ChatMessage(reply_id, False, text, int(time.time()))
        state.chats.add(sent.sender, sent.phone, message)
        return incoming_payload(
            device_key=sent.sender, phone=whatsapp_id(sent.phone), message=text, waba=sent.waba
        )

    async def post(self, payload: dict[str, Any]) -> None:
        """Post `payload` to the current webhook URL once; failures are logged and dropped."""
        state = self._state
        url = state.config.webhook_url
        if not url or self._poster is None:
            return
        try:
            status = await self._poster.post_json(url, payload)
        except PostError as exc:
            state.callbacks_failed += 1
            # One line per hundred failures: a dead receiver would otherwise flood the log.
            if state.callbacks_failed % 100 == 1:
                logger.warning(
                    "callback post to %s failed (%d so far): %s", url, state.callbacks_failed, exc
                )
            return
        state.callbacks_posted += 1
        if status >= 400:
            logger.debug("webhook %s answered %d to a callback", redact_url(url), status)
