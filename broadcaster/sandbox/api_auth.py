"""`/api/login`, `/api/register`, `/api/logout`, and the Bearer check of the other routes."""

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from broadcaster.sandbox.accounts import Account
from broadcaster.sandbox.inputs import Validator, read_input
from broadcaster.sandbox.responses import json_response, usual, validation_error
from broadcaster.sandbox.sending import bearer_token
from broadcaster.sandbox.state import SandboxState

__all__ = ["AccountRoutes", "Handler", "check_bearer", "guarded", "routes"]

#: Shortest password `/api/register` accepts.
MIN_PASSWORD = 6


def check_bearer(state: SandboxState, request: Request) -> Response | None:
    """None when the request carries a valid Bearer token, else the 401 answer."""
    if state.accounts.is_valid(bearer_token(request)):
        return None
    return json_response({"message": "Unauthenticated."}, 401)


Handler = Callable[[Request, Validator], Awaitable[Response]]


def guarded(state: SandboxState, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler with the Bearer check and input reading."""

    async def endpoint(request: Request) -> Response:
        refusal = check_bearer(state, request)
        if refusal is not None:
            return refusal
        return await handler(request, Validator(await read_input(request)))

    return endpoint


class AccountRoutes:
    """Login, register and logout against `state.accounts`."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def _logged_in(self, account: Account, message: str) -> Response:
        token = self.state.accounts.issue_token(account)
        data = {"token": token, "token_type": "Bearer", "user": account.to_json()}
        return usual(True, message, data)

    async def login(self, request: Request) -> Response:
        """`POST /api/login` {email, password}."""
        v = Validator(await read_input(request))
        email, password = v.text("email"), v.text("password")
        if (invalid := v.response()) is not None:
            return invalid
        account = self.state.accounts.login(email, password)
        if account is None:
            return usual(False, "Invalid credentials", None, 401)
        return self._logged_in(account, "Login successful")

    async def register(self, request: Request) -> Response:
        """`POST /api/register` {name, email, password}."""
        v = Validator(await read_input(request))
        name, email, password = v.text("name"), v.text("email"), v.text("password")
        if email and "@" not in email:
            v.fail("email", "The email field must be a valid email address.")
        if password and len(password) < MIN_PASSWORD:
            v.fail("password", f"The password field must be at least {MIN_PASSWORD} characters.")
        if (invalid := v.response()) is not None:
            return invalid
        account = self.state.accounts.register(name, email, password)
        if account is None:
            return validation_error({"email": ["The email has already been taken."]})
        return self._logged_in(account, "Registration successful")

    async def logout(self, request: Request) -> Response:
        """`POST /api/logout` with the Bearer token to invalidate."""
        refusal = check_bearer(self.state, request)
        if refusal is not None:
            return refusal
        self.state.accounts.revoke(bearer_token(request) or "")
        return usual(True, "Logged out")


def routes(state: SandboxState) -> list[Route]:
    """The account routes."""
    api = AccountRoutes(state)
    return [
        Route("/api/login", api.login, methods=["POST"]),
        Route("/api/register", api.register, methods=["POST"]),
        Route("/api/logout", api.logout, methods=["POST"]),
    ]
