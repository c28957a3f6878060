"""The send routes: how each one's input becomes an `Outgoing` message.

Four route families share one pipeline (`broadcaster.sandbox.sending`). They differ in the
credential (Bearer token or `api_key`), the envelope (`status` or `success`), the phone rule
(WABA turns `08...` into `628...`, devices want `62...`) and the id shape (`wamid.` or
`3EB0...`).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from broadcaster.sandbox.inputs import Validator

__all__ = ["SEND_ROUTES", "Outgoing", "SendRoute"]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A validated message to send; `template` is the id or name when it is a template."""

    sender: str
    phone: str
    raw_phone: str
    text: str = ""
    template: str | None = None
    params: list[str] = field(default_factory=list)
    language: str | None = None


@dataclass(frozen=True, slots=True)
class SendRoute:
    """One send endpoint and the traits of its family.

    Args:
        path: the URL path, also the `route` recorded in `/_sandbox/sends`.
        waba: Meta ids, shapes and the WABA throttle; else device ones.
        bearer: authenticated by Bearer token; else by `api_key` + `device_key` in the body.
        parse: reads the validated fields into an `Outgoing`.
    """

    path: str
    waba: bool
    bearer: bool
    parse: Callable[[Validator], Outgoing]

    @property
    def flag(self) -> str:
        """The envelope's boolean key: device proxy routes say `success`."""
        return "status" if self.waba else "success"


def _waba_simple(v: Validator) -> Outgoing:
    phone = v.phone(waba=True)
    return Outgoing(v.text("waba_id"), phone, str(v.data.get("phone")), v.text("message"))


def _waba_template(v: Validator) -> Outgoing:
    phone = v.phone(waba=True)
    return Outgoing(
        v.text("waba_id"),
        phone,
        str(v.data.get("phone")),
        template=v.text("template_name"),
        params=v.strings("params"),
        language=v.text("language", required=False) or None,
    )


def _wa_send(v: Validator) -> Outgoing:
    phone = v.phone(waba=False)
    return Outgoing(v.text("device_id"), phone, str(v.data.get("phone")), v.text("message"))


def _wa_template(v: Validator) -> Outgoing:
    phone = v.phone(waba=False)
    return Outgoing(
        v.text("device_id"),
        phone,
        str(v.data.get("phone")),
        template=v.text("template_id"),
        params=v.strings("variables"),
    )


def _app_waba_simple(v: Validator) -> Outgoing:
    phone = v.phone(waba=True)
    return Outgoing(v.text("device_key"), phone, str(v.data.get("phone")), v.text("message"))


def _app_waba_template(v: Validator) -> Outgoing:
    phone = v.phone(waba=True)
    return Outgoing(
        v.text("device_key"),
        phone,
        str(v.data.get("phone")),
        template=v.text("template_id"),
        params=v.strings("body"),
        language=v.text("template_lang"),
    )


def _app_wa_send(v: Validator) -> Outgoing:
    phone = v.phone(waba=False)
    sender, raw = v.text("device_key"), str(v.data.get("phone"))
    if v.choice("method", ("text", "template")) == "template":
        return Outgoing(
            sender, phone, raw, template=v.text("template"), params=v.strings("variables")
        )
    return Outgoing(sender, phone, raw, v.text("text"))


SEND_ROUTES: tuple[SendRoute, ...] = (
    SendRoute("/api/waba/send", True, True, _waba_simple),
    SendRoute("/api/waba/send-template", True, True, _waba_template),
    SendRoute("/api/wa/send", False, True, _wa_send),
    SendRoute("/api/wa/send-template", False, True, _wa_template),
    SendRoute("/api-app/waba/messages/simple", True, False, _app_waba_simple),
    SendRoute("/api-app/waba/messages/template", True, False, _app_waba_template),
    SendRoute("/api-app/whatsapp/send-message", False, False, _app_wa_send),
)
