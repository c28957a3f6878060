"""Every campaign action, once: launch, pause, resume, cancel, retry failed, resend unknown,
test send, delete, archive, forget a number. The HTTP API, the operator page, the command line and
`enqueue_broadcast` all call these functions; none of them changes a campaign any other way.

Each action takes the store and, when it releases recipients, a `Dispatch`: the port through
which released recipients reach the workers. `workers.dispatch.CeleryDispatch` implements it
with Celery; tests pass a recorder. The store changes first (atomically, in Lua), then the
released recipients are published. If publishing fails, they are still in the campaign's
dispatch window, and the workers' ticker publishes them again once they are stale: an action
that changed the store is never undone by a broker fault, except a launch, which deletes the
campaign it could not start (nothing of it was sent).

Usage:
    store, dispatch = open_store(settings), load_dispatch(settings.dispatch)
    result = launch(store, dispatch, "contacts.csv", CampaignRequest(sender="123", text="Hi"),
                    defaults=LaunchDefaults.from_settings(settings))
    pause(store, result.campaign.id)
"""

from .archiving import DAY, archive_campaign, archive_due
from .deletion import delete_campaign, deletion_summary
from .dispatch import Dispatch, load_dispatch
from .erasure import Forgotten, contact_data, forget
from .launching import CampaignRequest, EnqueueResult, LaunchDefaults, Source, launch, start
from .lifecycle import (
    PAUSED_BY_OPERATOR,
    ActionOutcome,
    cancel,
    pause,
    resend_unknown,
    resume,
    retry_failed,
)
from .trial import TrialResult, trial_send

__all__ = [
    "DAY",
    "PAUSED_BY_OPERATOR",
    "ActionOutcome",
    "CampaignRequest",
    "Dispatch",
    "EnqueueResult",
    "Forgotten",
    "LaunchDefaults",
    "Source",
    "TrialResult",
    "archive_campaign",
    "archive_due",
    "cancel",
    "contact_data",
    "delete_campaign",
    "deletion_summary",
    "forget",
    "launch",
    "load_dispatch",
    "pause",
    "resend_unknown",
    "resume",
    "retry_failed",
    "start",
    "trial_send",
]
