"""The ways Replai sends a WhatsApp message: through Meta's Cloud API or a linked device.

A channel decides which of Replai's routes a send takes (`ReplaiClient.send` looks it up in a
table) and which of Replai's throttles applies (the rates are settings:
`Settings.channel_rates`). To add a channel, add a member here, its routes to the client's
send table, and its rate to `Settings`.
"""

import enum

__all__ = ["Channel"]


class Channel(enum.StrEnum):
    """How Replai sends: `waba` (WhatsApp Business API) or `device` (a QR-linked phone)."""

    WABA = "waba"
    DEVICE = "device"

    @classmethod
    def parse(cls, value: object) -> "Channel":
        """The channel named `value`.

        Raises:
            ValueError: not a channel name; the message lists the channels.
        """
        try:
            return cls(value) if isinstance(value, str) else cls(str(value))
        except ValueError:
            names = " or ".join(repr(c.value) for c in cls)
            raise ValueError(f"channel must be {names}, got {value!r}") from None
