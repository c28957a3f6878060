"""Broadcaster: WhatsApp broadcast campaigns through the Replai.id API, on Celery and Redis."""

from .campaigns import Campaign, CampaignState, RecipientStatus
from .channels import Channel
from .contacts import Contact, ContactImport, ImportSummary, RowError, read_contacts
from .enqueue import campaign_progress, enqueue_broadcast, get_campaign, iter_report_rows
from .errors import (
    AccountRestricted,
    BroadcasterError,
    BrokerUnavailable,
    CampaignError,
    CampaignInvalid,
    CampaignNotFound,
    CampaignStateError,
    ConfigurationError,
    ConfirmationRequired,
    ContactImportError,
    DeviceDisconnected,
    NoPhoneColumn,
    RateLimitExceeded,
    ReplaiAuthError,
    ReplaiDeferred,
    ReplaiError,
    ReplaiPairRateLimited,
    ReplaiRejected,
    ReplaiRetryable,
    ReplaiSenderBlocked,
    ReplaiThrottled,
    ReplaiTimeout,
    ReplaiUnavailable,
)
from .keys import Keys
from .operations import CampaignRequest, Dispatch, EnqueueResult
from .phones import mask_phone, normalize_phone
from .progress import Progress
from .replai import ReplaiClient, SendResult, Template, parse_webhook
from .settings import Settings, get_settings
from .store import CampaignStore, RecipientRow, open_store

__all__ = [
    "AccountRestricted",
    "BroadcasterError",
    "BrokerUnavailable",
    "Campaign",
    "CampaignError",
    "CampaignInvalid",
    "CampaignNotFound",
    "CampaignRequest",
    "CampaignState",
    "CampaignStateError",
    "CampaignStore",
    "Channel",
    "ConfigurationError",
    "ConfirmationRequired",
    "Contact",
    "ContactImport",
    "ContactImportError",
    "DeviceDisconnected",
    "Dispatch",
    "EnqueueResult",
    "ImportSummary",
    "Keys",
    "NoPhoneColumn",
    "Progress",
    "RateLimitExceeded",
    "RecipientRow",
    "RecipientStatus",
    "ReplaiAuthError",
    "ReplaiClient",
    "ReplaiDeferred",
    "ReplaiError",
    "ReplaiPairRateLimited",
    "ReplaiRejected",
    "ReplaiRetryable",
    "ReplaiSenderBlocked",
    "ReplaiThrottled",
    "ReplaiTimeout",
    "ReplaiUnavailable",
    "RowError",
    "SendResult",
    "Settings",
    "Template",
    "campaign_progress",
    "enqueue_broadcast",
    "get_campaign",
    "get_settings",
    "iter_report_rows",
    "mask_phone",
    "normalize_phone",
    "open_store",
    "parse_webhook",
    "read_contacts",
]
