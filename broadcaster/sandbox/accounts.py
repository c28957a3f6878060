"""Sandbox accounts and Bearer tokens: register, login, logout."""

import random
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_EMAIL", "DEFAULT_PASSWORD", "Account", "Accounts"]

#: The account every sandbox starts with.
DEFAULT_EMAIL = "demo@example.com"
#: Its password.
DEFAULT_PASSWORD = "password"


@dataclass(frozen=True, slots=True)
class Account:
    """A registered user."""

    id: int
    name: str
    email: str
    password: str

    def to_json(self) -> dict[str, Any]:
        """The user object login and register answer with (no password)."""
        return {"id": self.id, "name": self.name, "email": self.email}


class Accounts:
    """Users by e-mail and the tokens issued to them.

    Args:
        rng: makes the tokens, so a seeded sandbox issues the same ones.
        static_tokens: tokens always accepted, even after logout; each is an account of its
            own for the throttle.
    """

    def __init__(self, rng: random.Random, static_tokens: tuple[str, ...] = ()) -> None:
        self._rng = rng
        self._static = frozenset(static_tokens)
        self._users: dict[str, Account] = {}
        self._tokens: dict[str, Account] = {}
        self.register("Demo", DEFAULT_EMAIL, DEFAULT_PASSWORD)

    def register(self, name: str, email: str, password: str) -> Account | None:
        """Create an account; None when the e-mail is taken."""
        key = email.lower()
        if key in self._users:
            return None
        account = Account(len(self._users) + 1, name, email, password)
        self._users[key] = account
        return account

    def login(self, email: str, password: str) -> Account | None:
        """The account when the credentials match, else None."""
        account = self._users.get(email.lower())
        if account is None or account.password != password:
            return None
        return account

    def issue_token(self, account: Account) -> str:
        """A new Sanctum-style token (`<id>|<40 chars>`) for the account."""
        token = f"{len(self._tokens) + 1}|{self._rng.getrandbits(160):040x}"
        self._tokens[token] = account
        return token

    def is_valid(self, token: str | None) -> bool:
        """Whether a Bearer token is accepted."""
        if not token:
            return False
        return token in self._static or token in self._tokens

    def throttle_key(self, token: str) -> str:
        """Whose requests a token's count toward: its user's (as Laravel's throttle keys an
        authenticated request by user id), or the static token's own."""
        account = self._tokens.get(token)
        return f"user:{account.id}" if account is not None else f"token:{token}"

    def revoke(self, token: str) -> None:
        """Invalidate a token (the static ones stay valid)."""
        self._tokens.pop(token, None)
