"""The port through which released recipients reach the workers.

`workers.dispatch.CeleryDispatch` implements it with Celery; tests pass a recorder. The setting
`BROADCASTER_DISPATCH` names the one `enqueue_broadcast` uses.
"""

import importlib
from collections.abc import Sequence
from typing import Protocol

__all__ = ["Dispatch", "load_dispatch"]


class Dispatch(Protocol):
    """How released recipients reach the workers."""

    def publish(self, campaign_id: str, indexes: Sequence[int]) -> None:
        """Queue sends for these recipients of the campaign.

        Raises:
            BrokerUnavailable: nothing could be queued.
        """


def load_dispatch(path: str) -> Dispatch:
    """The Dispatch named by `module:attribute` (a class is instantiated), e.g. the setting
    `BROADCASTER_DISPATCH` (default `workers.dispatch:CeleryDispatch`).

    Raises:
        ValueError: the name does not lead to an object with `publish`.
    """
    module, _, name = path.partition(":")
    try:
        found = getattr(importlib.import_module(module), name or "dispatch")
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load the dispatch {path!r}: {exc}") from None
    dispatch = found() if isinstance(found, type) else found
    if not callable(getattr(dispatch, "publish", None)):
        raise ValueError(f"{path!r} has no publish(campaign_id, indexes)")
    return dispatch  # type: ignore[no-any-return]
