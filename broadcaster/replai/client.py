"""`ReplaiClient`: every endpoint of Replai's reference page, with typed results."""

import logging
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, Self

import httpx

from broadcaster.channels import Channel
from broadcaster.errors import ReplaiRejected
from broadcaster.phones import mask_phone

from .chats import ChatCalls, items_of
from .connection import ReplaiConnection
from .envelope import data_of
from .models import DeviceStatus, LoginResult, SendResult, Template
from .webhooks import IncomingMessage, parse_webhook

__all__ = ["ReplaiClient", "Routes"]

logger = logging.getLogger(__name__)

#: "api": the Bearer family (`/api/...`); "api-app": the `api_key` + `device_key` one.
Routes = Literal["api", "api-app"]
_APP_SEND = "/api-app/whatsapp/send-message"


class ReplaiClient(ChatCalls):
    """A synchronous Replai client over one pooled `httpx.Client`; one per process.

    Usage:

        with ReplaiClient(base_url="https://chat.replai.id", token="...") as replai:
            result = replai.send(channel="waba", sender="1234", phone="628123456789",
                                 text="Halo", ref="cmp1:0")

    Auth: a static `token` is sent as Bearer. With `email` and `password` the client
    logs in on its first call, and once more after a 401. With `routes="api-app"` the
    sends, the device check and the template list use the older `/api-app/...` routes
    with `api_key` and `device_key` in the request; other calls still use Bearer auth.

    Caveat: when a send times out or the connection breaks after the request went out,
    Replai may have accepted the message: that raises `ReplaiTimeout` (a kind of
    `ReplaiUnavailable`), which callers must not retry blindly. Failures before the
    request left (connection refused, connect timeout) are plain `ReplaiUnavailable`.

    Args:
        device_key: the device key for `api-app` routes; when None, each call's
            `device_id` / `waba_id` (the sender) is sent as the device key.
        transport: an httpx transport, e.g. `httpx.MockTransport` in tests.
        max_connections: the size of the connection pool.

    Raises:
        ValueError: a bad base URL, timeout or route family; `api-app` without api_key.
    """

    def __init__(
        self,
        *,
        base_url: str,
        token: str | None = None,
        email: str | None = None,
        password: str | None = None,
        api_key: str | None = None,
        device_key: str | None = None,
        routes: Routes = "api",
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        max_connections: int = 20,
    ) -> None:
        if routes not in ("api", "api-app"):
            raise ValueError(f"routes must be 'api' or 'api-app', got {routes!r}")
        if routes == "api-app" and not api_key:
            raise ValueError("api_key is required when routes='api-app'")
        self.routes: Routes = routes
        self._app = routes == "api-app"
        self._api_key = api_key
        self._device_key = device_key or None
        self._conn = ReplaiConnection(
            base_url=base_url,
            token=token,
            email=email,
            password=password,
            timeout=timeout,
            connect_timeout=connect_timeout,
            transport=transport,
            max_connections=max_connections,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def login(self, email: str | None = None, password: str | None = None) -> LoginResult:
        """Log in (with these or the configured credentials) and cache the token."""
        return self._conn.login(email, password)

    def register(self, name: str, email: str, password: str) -> LoginResult:
        """Create an account; the token it answers with is not cached."""
        payload = {"name": name, "email": email, "password": password}
        body = self._conn.request("POST", "/api/register", json=payload, auth=False)
        return LoginResult.from_api(body if isinstance(body, Mapping) else {})

    def logout(self) -> None:
        """Invalidate the cached token on Replai and forget it (no-op without one)."""
        if self._conn.token is None:
            return
        self._conn.request("POST", "/api/logout", relogin=False)
        self._conn.forget_token()

    def send(
        self,
        *,
        channel: Channel | str,
        sender: str,
        phone: str,
        text: str | None = None,
        template: str | None = None,
        params: Sequence[str] = (),
        language: str = "id",
        ref: str | None = None,
    ) -> SendResult:
        """Send a text or a template by the right route: the workers' one entry point.

        Args:
            sender: the WABA id (`channel="waba"`) or the device id ("device").
            template: the template name (WABA) or id (device); excludes `text`.
            ref: `<campaign_id>:<index>`, sent as the `X-Broadcaster-Ref` header.

        Raises:
            ValueError: not exactly one of `text` and `template`; an unknown channel.
        """
        if (text is None) == (template is None):
            raise ValueError("pass exactly one of text= or template=")
        route = _SEND_ROUTES[Channel.parse(channel), text is None]
        return route(self, sender, phone, text or template or "", params, language, ref)

    def send_message(
        self, device_id: str, phone: str, message: str, *, ref: str | None = None
    ) -> SendResult:
        """Send a text from a WhatsApp device."""
        if self._app:
            payload = self._app_body(device_id, phone=phone, method="text")
            payload["text"] = message
            return self._post_send(_APP_SEND, payload, ref)
        payload = {"device_id": device_id, "phone": phone, "message": message}
        return self._post_send("/api/wa/send", payload, ref)

    def send_template(
        self,
        device_id: str,
        phone: str,
        template_id: str,
        *,
        variables: Sequence[str] = (),
        ref: str | None = None,
    ) -> SendResult:
        """Send a template from a WhatsApp device, filling `{{n}}` with `variables`."""
        if self._app:
            payload = self._app_body(device_id, phone=phone, method="template")
            payload.update(template=template_id, variables=list(variables))
            return self._post_send(_APP_SEND, payload, ref)
        payload = {"device_id": device_id, "phone": phone, "template_id": template_id}
        payload["variables"] = list(variables)
        return self._post_send("/api/wa/send-template", payload, ref)

    def waba_send(
        self, waba_id: str, phone: str, message: str, *, ref: str | None = None
    ) -> SendResult:
        """Send a WABA text; the result may carry no message id."""
        if self._app:
            payload = self._app_body(waba_id, phone=phone, message=message)
            return self._post_send("/api-app/waba/messages/simple", payload, ref)
        payload = {"waba_id": waba_id, "phone": phone, "message": message}
        return self._post_send("/api/waba/send", payload, ref)

    def waba_send_template(
        self,
        waba_id: str,
        phone: str,
        template_name: str,
        params: Sequence[str] = (),
        *,
        language: str = "id",
        ref: str | None = None,
    ) -> SendResult:
        """Send an approved Meta template from a WABA number, with positional params."""
        if self._app:
            payload = self._app_body(waba_id, phone=phone, template_id=template_name)
            payload.update(template_lang=language, body=list(params))
            return self._post_send("/api-app/waba/messages/template", payload, ref)
        payload = {"waba_id": waba_id, "phone": phone, "template_name": template_name}
        payload.update(params=list(params), language=language)
        return self._post_send("/api/waba/send-template", payload, ref)

    def check_connection(self, device_id: str) -> DeviceStatus:
        """Whether the device (or WABA number) is connected."""
        if self._app:
            path = "/api-app/integration/checking-device"
            payload = self._app_body(device_id)
            body = self._conn.request("POST", path, json=payload, auth=False)
        else:
            params = {"device_id": device_id}
            body = self._conn.request("GET", "/api/device/status", params=params)
        return DeviceStatus.from_api(data_of(body))

    def get_templates(self, device_id: str) -> list[Template]:
        """The templates of the device (or WABA number), with their approval status."""
        if self._app:
            path = "/api-app/integration/get-templates"
            query = self._app_body(device_id)
            body = self._conn.request("GET", path, params=query, auth=False)
        else:
            params = {"device_id": device_id}
            body = self._conn.request("GET", "/api/device/templates", params=params)
        return [Template.from_api(item) for item in items_of(body)]

    def get_webhook_sample(self) -> IncomingMessage:
        """Replai's sample webhook payload, parsed as an incoming message.

        Raises:
            ReplaiRejected: the sample holds no incoming message.
        """
        auth = self._conn.can_authenticate
        body = self._conn.request("POST", "/webhook/sample", auth=auth)
        data = data_of(body)
        try:
            events = parse_webhook(data if isinstance(data, Mapping | list) else {})
        except ValueError as exc:
            raise ReplaiRejected(f"unexpected webhook sample: {exc}") from exc
        for event in events:
            if isinstance(event, IncomingMessage):
                return event
        raise ReplaiRejected("the webhook sample holds no incoming message")

    def _app_body(self, sender: str, **fields: Any) -> dict[str, Any]:
        device_key = self._device_key or sender
        return {"api_key": self._api_key, "device_key": device_key, **fields}

    def _post_send(self, path: str, payload: dict[str, Any], ref: str | None) -> SendResult:
        body = self._conn.request("POST", path, json=payload, ref=ref, auth=not self._app)
        result = SendResult.from_api(data_of(body), raw=body if isinstance(body, Mapping) else {})
        if logger.isEnabledFor(logging.DEBUG):
            phone = mask_phone(payload["phone"])
            logger.debug("sent to %s via %s: id=%s", phone, path, result.message_id)
        return result


_Send = Callable[[ReplaiClient, str, str, str, Sequence[str], str, str | None], SendResult]

#: The call `ReplaiClient.send` makes, by channel and whether it sends a template.
_SEND_ROUTES: dict[tuple[Channel, bool], _Send] = {
    (Channel.WABA, False): lambda c, sender, phone, text, _p, _l, ref: c.waba_send(
        sender, phone, text, ref=ref
    ),
    (Channel.WABA, True): lambda c, sender, phone, name, params, lang, ref: c.waba_send_template(
        sender, phone, name, params, language=lang, ref=ref
    ),
    (Channel.DEVICE, False): lambda c, sender, phone, text, _p, _l, ref: c.send_message(
        sender, phone, text, ref=ref
    ),
    (Channel.DEVICE, True): lambda c, sender, phone, tid, params, _l, ref: c.send_template(
        sender, phone, tid, variables=params, ref=ref
    ),
}
