import dataclasses
from typing import NamedTuple

from broadcaster.campaigns import Campaign, RecipientStatus, new_campaign_id
from broadcaster.contacts import Contact, read_contacts
from broadcaster.operations import CampaignRequest
from broadcaster.settings import Settings
from broadcaster.store import CampaignStore, WebhookRules, open_store
from workers.delivery import Policy


def campaign(**fields) -> Campaign:
    values = {
        "id": new_campaign_id(),
        "name": "test",
        "channel": "waba",
        "sender": "waba-1",
        "text": "Halo {name}",
    }
    values.update(fields)
    return Campaign(**values)


def contacts(n: int, *, start: int = 0) -> list[Contact]:
    """n distinct Indonesian mobiles; the 4-digit suffixes avoid the sandbox's scripted ones."""
    return [
        Contact(line=i + 2, phone=phone(start + i), variables={"name": f"N{start + i}"})
        for i in range(n)
    ]


def phone(i: int, *, suffix: int | None = None) -> str:
    """The i-th test number; the last four digits are >= 5000 unless a scripted suffix is given."""
    if suffix is not None:
        return f"6281{i % 100000:05d}{suffix:04d}"
    return f"6281{i // 4000 % 100000:05d}{5000 + i % 4000:04d}"


class Clock:
    """A clock a test moves by hand (`clock.t += 5`), for the store, the limiter and the send
    path, which all take `clock=`."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def store(redis, *, prefix: str = "bc", **overrides) -> CampaignStore:
    """A CampaignStore on the test Redis client, with the deployment's defaults (Settings)."""
    settings = Settings(_env_file=None, key_prefix=prefix)  # type: ignore[call-arg]
    return open_store(settings, redis=redis, **overrides)


def rules(**fields) -> WebhookRules:
    """The webhook rules with the deployment's defaults, `fields` replaced."""
    base = WebhookRules.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
    return dataclasses.replace(base, **fields)


def policy(**fields) -> Policy:
    """The workers' Policy with the deployment's defaults, `fields` replaced."""
    base = Policy.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
    return dataclasses.replace(base, **fields)


@dataclasses.dataclass
class Published:
    """A Dispatch that records what it would publish, instead of queueing tasks."""

    calls: list[tuple[str, list[int]]] = dataclasses.field(default_factory=list)

    def publish(self, campaign_id: str, indexes) -> None:
        self.calls.append((campaign_id, list(indexes)))

    @property
    def campaigns(self) -> list[str]:
        return list(dict.fromkeys(cid for cid, _ in self.calls))

    def indexes(self, campaign_id: str) -> list[int]:
        return [i for cid, batch in self.calls if cid == campaign_id for i in batch]


def draft(store: CampaignStore, rows, *, text: str = "Halo {name}", **fields) -> str:
    """Store a campaign from `rows` (dicts or a path) without starting it; returns its id."""
    with read_contacts(rows) as imported:
        columns = [c for c in imported.columns if c != imported.summary.phone_column]
        request = CampaignRequest(sender=fields.pop("sender", "waba-1"), text=text, **fields)
        return store.create(request.campaign(columns), imported, window=512).id


class Held(NamedTuple):
    """A recipient taken through the send path's first two steps (`take`)."""

    code: int  # the prepare's code, or the claim's once prepared
    phone: str
    variables: dict[str, str]
    attempts: int
    lease_until: float
    released: list[int]

    @property
    def ok(self) -> bool:
        return self.code == 1


def take(store: CampaignStore, cid: str, index: int, *, lease: float = 30.0) -> Held:
    """Prepare and claim a recipient as a worker does (no rate limit), for tests of what
    comes after."""
    ticket = store.prepare(cid, index)
    if not ticket.ok:
        return Held(ticket.code, "", {}, 0, 0.0, ticket.released)
    lease_until = store.clock() + lease
    claim = store.claim(cid, index, lease_until=lease_until, phone=ticket.phone)
    return Held(claim.code, ticket.phone, ticket.variables, ticket.attempts, lease_until,
                claim.released)  # fmt: skip


def settle(
    store: CampaignStore, cid: str, index: int, status: RecipientStatus, **outcome
) -> list[int]:
    """Take a recipient and record `status` for it (with its phone when sent); returns what
    the outcome released."""
    held = take(store, cid, index)
    assert held.ok, held
    outcome.setdefault("phone", held.phone)
    return store.finish(cid, index, status, lease_until=held.lease_until, **outcome)
