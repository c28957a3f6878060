"""The send pipeline every send route goes through.

Order, as in Replai's Laravel stack: credentials -> throttle -> (latency) -> fail mode ->
validation -> device connected -> template -> scripted outcome -> accepted.

The arrival time `t` is taken once the body is read, synchronously followed by the throttle
check, so the throttle and `/_sandbox/sends` see the same timestamps in the same order:
"never more than N in any window" can be checked against the recorded sends. The latency
sleep comes after the throttle, like a slow upstream behind a fast gateway.

`fail_mode: "timeout"` sleeps `FAIL_TIMEOUT` seconds and then answers 504 without recording
the send (a hung upstream that never sent). A scripted 0008 instead completes and records.
"""

import asyncio
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from broadcaster.sandbox.callbacks import CallbackPoster
from broadcaster.sandbox.chats import ChatMessage
from broadcaster.sandbox.inputs import Validator, read_input
from broadcaster.sandbox.outgoing import Outgoing, SendRoute
from broadcaster.sandbox.payloads import SentMessage, whatsapp_id
from broadcaster.sandbox.records import SendRecord
from broadcaster.sandbox.responses import error_page, json_response, meta_error_body
from broadcaster.sandbox.scripts import (
    PARAM_MISMATCH,
    SLOW_ANSWER,
    STATEFUL_SUFFIXES,
    TEMPLATE_MISSING,
    Kind,
    MetaError,
    script_for,
)
from broadcaster.sandbox.state import SandboxState
from broadcaster.sandbox.templates import find_template

__all__ = ["FAIL_TIMEOUT", "Sender", "bearer_token"]

#: Seconds a send hangs in `fail_mode: "timeout"`.
FAIL_TIMEOUT = 30.0

_UNAUTHENTICATED = {"message": "Unauthenticated."}


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


class Sender:
    """Runs the send pipeline against one `SandboxState`."""

    def __init__(self, state: SandboxState, callbacks: CallbackPoster) -> None:
        self.state = state
        self.callbacks = callbacks

    async def handle(self, request: Request, route: SendRoute) -> Response:
        """Answer one send request on `route`."""
        data = await read_input(request)
        t = time.time()
        credential, refusal = self._authenticate(request, route, data)
        if refusal is not None:
            return refusal
        rate = self.state.rate_for(route.waba, credential)
        headers: dict[str, str] = {}
        if rate.limit:
            family = "waba" if route.waba else "device"
            decision = self.state.throttle.hit(
                f"{family}:{self._account(route, credential)}", t, rate.limit, rate.period
            )
            if not decision.allowed:
                self.state.throttled += 1
                return error_page(request, 429, "Too Many Attempts.", decision.headers())
            headers = decision.headers()
        epoch = self.state.epoch
        if self.state.config.latency:
            await asyncio.sleep(self.state.config.latency)
        response = await self._send(request, route, data, t, credential, epoch)
        for key, value in headers.items():
            response.headers.setdefault(key, value)
        return response

    def _account(self, route: SendRoute, credential: str) -> str:
        """Whose throttle a request counts toward: the token's user, or the api_key."""
        if route.bearer:
            return self.state.accounts.throttle_key(credential)
        return f"api_key:{credential}"

    def _authenticate(
        self, request: Request, route: SendRoute, data: dict[str, Any]
    ) -> tuple[str, Response | None]:
        if route.bearer:
            token = bearer_token(request)
            if token is None or not self.state.accounts.is_valid(token):
                return "", json_response(_UNAUTHENTICATED, 401)
            return token, None
        v = Validator(data)
        api_key = v.text("api_key")
        v.text("device_key")
        invalid = v.response()
        if invalid is not None:
            return "", invalid
        if api_key == "invalid":
            return "", json_response(_UNAUTHENTICATED, 401)
        return api_key, None

    async def _send(
        self,
        request: Request,
        route: SendRoute,
        data: dict[str, Any],
        t: float,
        credential: str,
        epoch: int,
    ) -> Response:
        failed = await self._fail_mode(request)
        if failed is not None:
            return failed
        v = Validator(data)
        out = route.parse(v)
        invalid = v.response()
        if invalid is not None:
            return invalid
        if out.sender in self.state.disconnected:
            return self._disconnected(route)
        if out.template is not None:
            refusal, out = self._apply_template(route, out)
            if refusal is not None:
                return refusal
        return await self._scripted(request, route, out, t, credential, epoch)

    async def _fail_mode(self, request: Request) -> Response | None:
        mode = self.state.config.fail_mode
        if mode is None:
            return None
        if mode == "429":
            headers = {"Retry-After": "1", "X-RateLimit-Remaining": "0"}
            return error_page(request, 429, "Too Many Attempts.", headers)
        if mode == "timeout":
            await asyncio.sleep(FAIL_TIMEOUT)
            return error_page(request, 504, "Gateway Timeout")
        return error_page(request, 500, "Server Error")

    def _apply_template(self, route: SendRoute, out: Outgoing) -> tuple[Response | None, Outgoing]:
        template = find_template(out.template or "", out.language)
        if template is None:
            return self._failure(route, TEMPLATE_MISSING), out
        if len(out.params) != template.param_count:
            return self._failure(route, PARAM_MISMATCH), out
        text = template.render(out.params)
        return None, Outgoing(out.sender, out.phone, out.raw_phone, text, out.template, out.params)

    async def _scripted(
        self,
        request: Request,
        route: SendRoute,
        out: Outgoing,
        t: float,
        credential: str,
        epoch: int,
    ) -> Response:
        stateful = out.phone[-4:] in STATEFUL_SUFFIXES
        attempt = self.state.next_attempt(out.phone) if stateful else 1
        script = script_for(out.phone, attempt)
        kind = script.kind
        if kind is Kind.ACCEPT:
            return await self._accept(request, route, out, t, credential)
        if kind is Kind.SLOW:
            await asyncio.sleep(SLOW_ANSWER)
            if self.state.epoch != epoch:
                return error_page(request, 503, "The sandbox was reset meanwhile.")
            return await self._accept(request, route, out, t, credential)
        if kind is Kind.META_ERROR and script.error is not None:
            return self._failure(route, script.error)
        if kind is Kind.DISCONNECT:
            self.state.disconnected.add(out.sender)
            return self._disconnected(route)
        if kind is Kind.UNAUTHENTICATED:
            return json_response(_UNAUTHENTICATED, 401)
        if kind is Kind.THROTTLED:
            headers = {"Retry-After": "1", "X-RateLimit-Remaining": "0"}
            return error_page(request, 429, "Too Many Attempts.", headers)
        return error_page(request, 500, "Server Error")

    def _failure(self, route: SendRoute, error: MetaError) -> Response:
        data = None
        if route.waba and route.bearer:
            data = meta_error_body(error, f"A{self.state.rng.getrandbits(64):016x}")
        body = {route.flag: False, "message": error.message, "data": data}
        return json_response(body, error.status)

    def _disconnected(self, route: SendRoute) -> Response:
        body = {route.flag: False, "message": "Device not connected", "data": None}
        return json_response(body, 419)

    async def _accept(
        self, request: Request, route: SendRoute, out: Outgoing, t: float, credential: str
    ) -> Response:
        state = self.state
        ref = request.headers.get("x-broadcaster-ref")
        if route.waba:
            message_id = state.new_wamid()
            data: dict[str, Any] = {
                "messaging_product": "whatsapp",
                "contacts": [{"input": out.raw_phone, "wa_id": whatsapp_id(out.phone)}],
                "messages": [{"id": message_id}],
            }
        else:
            message_id = state.new_device_message_id()
            data = {"id": message_id, "phone": out.phone, "status": "sent"}
        account = self._account(route, credential)
        state.sends.add(
            SendRecord(t, out.phone, ref, route.path, message_id, credential, account, out.sender)
        )
        state.chats.add(out.sender, out.phone, ChatMessage(message_id, True, out.text, int(t)))
        sent = SentMessage(message_id, out.phone, out.sender, route.waba)
        if state.config.callbacks_first:
            await self.callbacks.before_answer(sent)
        else:
            self.callbacks.after_send(sent)
        message = "Message sent successfully" if route.waba else "Message sent"
        return json_response({route.flag: True, "message": message, "data": data})
