"""The operator web page: sign in, launch a campaign, watch it, the suppression list, the
event webhooks.

Plain HTML, CSS and small scripts shipped in this package (`templates/`, `static/`): no
build step and nothing fetched from the internet. The HTML carries no data; the scripts read
it from the JSON API with the session cookie (see `sessions.py`), so the server never puts
operator-supplied text into markup. Every page and script, except the sign-in page and the
style sheet, redirects to `/ui/login` without a valid session.
"""

import functools
import html
import importlib.resources
import string
import time
import urllib.parse
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from broadcaster.settings import Settings

from .auth import key_matches
from .deps import SettingsDep
from .errors import ApiError
from .sessions import (
    DEFAULT_SESSION_SECONDS,
    SESSION_COOKIE,
    SessionKeys,
    configured_keys,
    new_session,
    session_key,
)
from .uploads import form_fields, read_form

__all__ = ["LOGIN_PATH", "install_pages", "router"]

router = APIRouter(include_in_schema=False)

#: Where an operator signs in.
LOGIN_PATH = "/ui/login"
#: The first page after signing in.
HOME_PATH = "/ui/campaigns"
#: Largest sign-in form accepted, in bytes.
_MAX_LOGIN_BYTES = 16 * 1024

#: name -> (title, nav entry it belongs to)
_PAGES = {
    "campaigns": ("Campaigns", "campaigns"),
    "campaign": ("Campaign", "campaigns"),
    "launch": ("New campaign", "launch"),
    "suppression": ("Suppression list", "suppression"),
    "events": ("Event webhooks", "events"),
}
_NAV = (("campaigns", "/ui/campaigns", "Campaigns"),
        ("launch", "/ui/launch", "New campaign"),
        ("suppression", "/ui/suppression", "Suppression list"),
        ("events", "/ui/events", "Event webhooks"))  # fmt: skip
#: asset -> (media type, served without a session)
_ASSETS = {
    "app.css": ("text/css; charset=utf-8", True),
    "common.js": ("text/javascript; charset=utf-8", False),
    "campaigns.js": ("text/javascript; charset=utf-8", False),
    "campaign.js": ("text/javascript; charset=utf-8", False),
    "launch.js": ("text/javascript; charset=utf-8", False),
    "suppression.js": ("text/javascript; charset=utf-8", False),
    "events.js": ("text/javascript; charset=utf-8", False),
}
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def install_pages(app: FastAPI, settings: Settings) -> None:
    """Serve the pages on `app` and let their session cookie stand in for the API key."""
    app.add_middleware(SessionKeys, settings=settings)
    app.include_router(router)


@functools.cache
def _resource(folder: str, name: str) -> str:
    return importlib.resources.files(__package__).joinpath(folder, name).read_text("utf-8")


def _signed_in(request: Request, settings: Settings) -> bool:
    token = request.cookies.get(SESSION_COOKIE)
    return session_key(token, configured_keys(settings), now=time.time()) is not None


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query = urllib.parse.urlencode({"next": target})
    return RedirectResponse(f"{LOGIN_PATH}?{query}", status_code=303)


def _safe_next(value: str | None) -> str:
    # only a path of these pages: never another host (//evil.example) or scheme
    if value and value.startswith("/ui/") and not value.startswith(("//", "/\\")):
        return value
    return HOME_PATH


def _html(body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status_code, headers=_SECURITY_HEADERS)


def _render(page: str) -> str:
    title, section = _PAGES[page]
    nav = "\n".join(
        f'<a href="{href}"{" aria-current=page" if name == section else ""}>{label}</a>'
        for name, href, label in _NAV
    )
    layout = string.Template(_resource("templates", "layout.html"))
    return layout.substitute(
        title=title, page=page, nav=nav, main=_resource("templates", f"{page}.html")
    )


def _login_page(next_path: str, error: str = "", status_code: int = 200) -> HTMLResponse:
    message = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    body = string.Template(_resource("templates", "login.html")).substitute(
        next=html.escape(next_path, quote=True), error=message
    )
    return _html(body, status_code)


@router.get("/")
@router.get("/ui")
@router.get("/ui/")
def home() -> RedirectResponse:
    """The pages start at the campaigns list."""
    return RedirectResponse(HOME_PATH, status_code=303)


@router.get(LOGIN_PATH)
def login_page(request: Request, settings: SettingsDep, next: str | None = None) -> Response:
    """The sign-in form (straight on to `next` when already signed in)."""
    if _signed_in(request, settings):
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(_safe_next(next))


@router.post(LOGIN_PATH)
async def login(request: Request, settings: SettingsDep) -> Response:
    """Check the key (constant time, every configured key) and set the session cookie."""
    async with read_form(request, _MAX_LOGIN_BYTES) as form:
        fields: dict[str, Any] = form_fields(form)
    next_path = _safe_next(fields.get("next"))
    keys = configured_keys(settings)
    if not keys:
        raise ApiError(503, "no API keys configured: set BROADCASTER_API_KEYS")
    given = str(fields.get("key") or "")
    if not given or not key_matches(given, keys):
        return _login_page(next_path, "That key is not valid. Check it and try again.", 401)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        new_session(given, now=time.time()),
        max_age=int(DEFAULT_SESSION_SECONDS),
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


@router.post("/ui/logout")
def logout() -> RedirectResponse:
    """Delete the session cookie."""
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/ui/campaigns")
def campaigns_page(request: Request, settings: SettingsDep) -> Response:
    """Every campaign with its state and progress."""
    return _page(request, settings, "campaigns")


@router.get("/ui/campaigns/{campaign_id}")
def campaign_page(campaign_id: str, request: Request, settings: SettingsDep) -> Response:
    """One campaign, live: funnel, failures, recipients, controls, report."""
    return _page(request, settings, "campaign")


@router.get("/ui/launch")
def launch_page(request: Request, settings: SettingsDep) -> Response:
    """Upload, preview, compose, test and launch a campaign."""
    return _page(request, settings, "launch")


@router.get("/ui/suppression")
def suppression_page(request: Request, settings: SettingsDep) -> Response:
    """Search, add, remove and import suppressed numbers."""
    return _page(request, settings, "suppression")


@router.get("/ui/events")
def events_page(request: Request, settings: SettingsDep) -> Response:
    """Event subscriptions: add and remove, deliveries, dead letters and replay."""
    return _page(request, settings, "events")


def _page(request: Request, settings: Settings, page: str) -> Response:
    if not _signed_in(request, settings):
        return _to_login(request)
    return _html(_render(page))


@router.get("/ui/static/{name}")
def asset(name: str, request: Request, settings: SettingsDep) -> Response:
    """The style sheet (public) and the scripts (signed in only)."""
    if name not in _ASSETS:
        raise ApiError(404, "Not Found")
    media_type, public = _ASSETS[name]
    if not public and not _signed_in(request, settings):
        return _to_login(request)
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    return Response(_resource("static", name), media_type=media_type, headers=headers)
