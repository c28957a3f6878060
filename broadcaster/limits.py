"""Every rate limit a send passes, nested: the campaign's own pace, its sender's, its account's.

Replai throttles per account (API credential) and route family (the WABA routes and the device
routes have their own throttle); Meta limits each sender number (80 messages a second by
default); a campaign may ask for a slower pace of its own. A send passes them from the inside
out (`Limits.chain`): the campaign's and the sender's slot first, then, only once those are
reached, the account's, so that a slot of the account (shared by every sender and campaign on
it) is never held by a send that is still waiting for another limit.

Usage:
    limits = Limits.from_settings(settings)
    limits.check(campaign)           # CampaignInvalid when it asks for more than it can have
    limits.rate(campaign)            # the pace it will get at most, per minute
    [limit.key for limit in limits.chain(campaign)]  # ["sender:waba:123", "account:default:waba"]
"""

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from .campaigns import Campaign
from .channels import Channel
from .errors import CampaignInvalid

__all__ = ["DEFAULT_ACCOUNT", "Limit", "Limits", "parse_rate"]

#: The account a campaign uses when it names none: the single-account settings.
DEFAULT_ACCOUNT = "default"

_RATE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|second|m|min|minute))?\s*", re.I)


def parse_rate(text: str | float) -> float:
    """`600/min`, `10/s` or a bare number (per minute) -> sends per minute.

    Raises:
        ValueError: not a positive rate in one of those forms.
    """
    if isinstance(text, int | float):
        value = float(text)
        if value <= 0:
            raise ValueError(f"rate must be positive, got {text!r}")
        return value
    match = _RATE.fullmatch(text)
    if match is None or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r}: expected a positive N/min or N/s, e.g. 600/min")
    per_second = (match.group(2) or "min").lower() in ("s", "sec", "second")
    return float(match.group(1)) * (60.0 if per_second else 1.0)


@dataclasses.dataclass(frozen=True, slots=True)
class Limit:
    """One rate limit: who it binds (`kind`: campaign, sender or account), its limiter key,
    and its rate in sends per minute."""

    kind: str
    name: str
    key: str
    per_minute: float

    def describe(self) -> str:
        """`account 'default' (waba routes): 120/min`."""
        return f"{self.name}: {_rate_text(self.per_minute)}"


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """The deployment's limits (from `Settings`, see `from_settings`).

    Args:
        accounts: per account, Replai's throttle per route family, in sends per minute.
        sender_per_minute: Meta's rate per sender number (80/s by default).
        senders: per sender id, its own rate (overrides `sender_per_minute`) and account.
    """

    accounts: Mapping[str, Mapping[Channel, float]]
    sender_per_minute: float
    senders: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Any) -> "Limits":
        """Read them from a `Settings`."""
        return cls(
            accounts={
                name: account.channel_rates(settings)
                for name, account in settings.replai_accounts().items()
            },
            sender_per_minute=parse_rate(settings.sender_rate),
            senders={
                sid: {"rate": parse_rate(s.rate) if s.rate else None, "account": s.account}
                for sid, s in settings.senders.items()
            },
        )

    def account_for(self, sender: str, account: str | None = None) -> str:
        """The account a campaign of `sender` sends through: the one it names, else the one
        the sender is configured with, else the default.

        Raises:
            CampaignInvalid: the account is not configured.
        """
        name = account or self.senders.get(sender, {}).get("account") or DEFAULT_ACCOUNT
        if name not in self.accounts:
            known = ", ".join(sorted(self.accounts)) or "none"
            raise CampaignInvalid(f"unknown Replai account {name!r} (configured: {known})")
        return str(name)

    def chain(self, campaign: Campaign) -> list[Limit]:
        """The limits a send of `campaign` passes, innermost first; the account's is last."""
        channel = Channel(campaign.channel)
        account = self.account_for(campaign.sender, campaign.account)
        sender_rate = self.senders.get(campaign.sender, {}).get("rate") or self.sender_per_minute
        cid, sender = campaign.id, campaign.sender
        chain = []
        if campaign.rate_per_minute:
            own = campaign.rate_per_minute
            chain.append(Limit("campaign", f"campaign {cid}'s own rate", f"campaign:{cid}", own))
        chain += [
            Limit("sender", f"sender {sender}", f"sender:{channel}:{sender}", sender_rate),
            Limit("account", f"account {account!r} ({channel} routes)",
                  f"account:{account}:{channel}", self.accounts[account][channel]),
        ]  # fmt: skip
        return chain

    def binding(self, campaign: Campaign) -> Limit:
        """The tightest of the campaign's limits (the outermost of equal ones)."""
        chain = self.chain(campaign)
        return min(reversed(chain), key=lambda limit: limit.per_minute)

    def pool_binding(self, campaign: Campaign) -> Limit:
        """What holds a campaign's pace as a whole: `binding` for one sender; for a pool, its
        own rate when that is below its senders' together (`rate`), else the pool's."""
        if len(campaign.senders) < 2:
            return self.binding(campaign)
        pool = self._pool_rate(campaign)
        own = campaign.rate_per_minute
        if own and own <= pool:
            cid = campaign.id
            return Limit("campaign", f"campaign {cid}'s own rate", f"campaign:{cid}", own)
        return Limit("pool", f"its {len(campaign.senders)} senders together", "", pool)

    def per_sender(self, campaign: Campaign) -> dict[str, Limit]:
        """For each sender of a pool (none without one), the limit that holds its sends: the
        sender's own rate, or its account's when the pool's senders on that account together
        ask for more than the account allows (they share it then)."""
        groups: dict[str, list[tuple[str, Limit, Limit]]] = {}
        for sender in campaign.senders if len(campaign.senders) > 1 else ():
            one = dataclasses.replace(campaign, sender=sender, rate_per_minute=None)
            own, account = self.chain(one)
            groups.setdefault(account.key, []).append((sender, own, account))
        out = {}
        for group in groups.values():
            account = group[0][2]
            shared = sum(own.per_minute for _, own, _ in group) > account.per_minute
            for sender, own, _ in group:
                out[sender] = account if shared else own
        return out

    def rate(self, campaign: Campaign) -> float:
        """The most the campaign can send per minute, alone on its account and sender; a
        sender pool's (`pools`): the sum of its senders', each account's at most its own."""
        if len(campaign.senders) < 2:
            return self.binding(campaign).per_minute
        pool = self._pool_rate(campaign)
        return min(pool, campaign.rate_per_minute) if campaign.rate_per_minute else pool

    def _pool_rate(self, campaign: Campaign) -> float:
        per_account: dict[str, float] = {}
        for sender in campaign.senders:
            one = dataclasses.replace(campaign, sender=sender, rate_per_minute=None)
            account = self.account_for(sender, campaign.account)
            limit = self.chain(one)[0].per_minute
            per_account[account] = per_account.get(account, 0.0) + limit
        channel = Channel(campaign.channel)
        return sum(min(r, self.accounts[a][channel]) for a, r in per_account.items())

    def check(self, campaign: Campaign) -> None:
        """Refuse a campaign that asks for more than its account and sender allow.

        Raises:
            CampaignInvalid: unknown account, or a rate above the account's or the sender's.
        """
        own = campaign.rate_per_minute
        shared = [limit for limit in self.chain(campaign) if limit.kind != "campaign"]
        tightest = min(shared, key=lambda limit: limit.per_minute)
        if len(campaign.senders) > 1:
            pool = self._pool_rate(campaign)  # every sender's account is known
            tightest = Limit("pool", f"its {len(campaign.senders)} senders together", "", pool)
        if own and own > tightest.per_minute:
            raise CampaignInvalid(
                f"a rate of {_rate_text(own)} is more than {tightest.describe()} allows: ask "
                f"for at most {_rate_text(tightest.per_minute)}, or leave the rate out"
            )


def _rate_text(per_minute: float) -> str:
    if per_minute >= 600 and (per_minute / 60).is_integer():
        return f"{per_minute / 60:g}/s"
    return f"{per_minute:g}/min"
