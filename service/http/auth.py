"""Who is calling: the admin key, a public site key from one of its origins, or a local user with no keys set.

The rules (the README's "Keys and origins" says the same):
- With any key configured, every /v1 request needs a key, sent as `Authorization: Bearer KEY`.
- The admin key may do everything. A site key may only ask and search, and only from its allowed origins.
- With no key configured (local use), reading and asking are open, and writes are accepted only from the
  machine itself (a loopback client address) and never from a web page of another origin, so a page in
  the user's browser cannot write to their local Footnote.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from starlette.requests import Request

from service.http.errors import ApiError
from service.settings import Settings

Role = Literal["admin", "site", "local"]


@dataclass(frozen=True)
class Principal:
    """The caller of one request; `name` identifies its key for rate limits and logs without revealing it."""

    role: Role
    name: str


def bearer_key(request: Request) -> str | None:
    """The key in `Authorization: Bearer KEY`, if any."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "invalid_key", "the Authorization header must be `Bearer <key>`")
    return key.strip()


def key_fingerprint(key: str) -> str:
    """A short, non-reversible name for a key, safe to log and to key rate limits by."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def keys_configured(settings: Settings) -> bool:
    """Whether any key is set, which closes the API to callers without one."""
    return settings.admin_key is not None or bool(settings.site_keys)


def allowed_origins(settings: Settings) -> set[str]:
    """Every origin some site key may be used from: the only origins that get CORS headers."""
    return {_normalise_origin(origin) for origins in settings.site_keys.values() for origin in origins}


def authenticate(request: Request, settings: Settings) -> Principal:
    """The caller of a request, or a 401/403 ApiError."""
    key = bearer_key(request)
    if key is None:
        if keys_configured(settings):
            raise ApiError(401, "missing_key", "this Footnote needs a key: send `Authorization: Bearer <key>`")
        return Principal("local", f"address:{client_address(request)}")
    role, origins = _match_key(key, settings)
    if role is None:
        raise ApiError(401, "invalid_key", "the key is not valid")
    if role == "site":
        origin = request.headers.get("origin")
        if origin is None or _normalise_origin(origin) not in origins:
            raise ApiError(403, "origin_not_allowed", "this site key may not be used from this origin")
    return Principal(role, f"{role}:{key_fingerprint(key)}")


def require_admin_or_local(principal: Principal, request: Request) -> None:
    """Refuse writes and document reads to site keys, and to local users reaching in from elsewhere."""
    if principal.role == "admin":
        return
    if principal.role == "site":
        raise ApiError(403, "forbidden", "a site key may only ask and search")
    if not is_loopback(client_address(request)):
        raise ApiError(403, "forbidden", "set FOOTNOTE_ADMIN_KEY to manage documents from another machine")
    origin = request.headers.get("origin")
    if origin is not None and not _same_origin(origin, request):
        # Browsers send Origin on cross-site requests: a web page must not write to a local Footnote.
        raise ApiError(403, "forbidden", "documents can't be changed from another site's page without a key")


def client_address(request: Request) -> str:
    """The peer's address (no proxy headers are trusted)."""
    return request.client.host if request.client is not None else "unknown"


def is_loopback(address: str) -> bool:
    """Whether an address is this machine's."""
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "testclient"  # Starlette's in-process test client


def _match_key(key: str, settings: Settings) -> tuple[Role | None, set[str]]:
    # Every configured key is compared, in constant time, so timing reveals neither a key nor a match.
    candidate = key.encode("utf-8")
    role: Role | None = None
    origins: set[str] = set()
    if settings.admin_key is not None:
        if hmac.compare_digest(candidate, settings.admin_key.get_secret_value().encode("utf-8")):
            role = "admin"
    for site_key, site_origins in settings.site_keys.items():
        if hmac.compare_digest(candidate, site_key.encode("utf-8")) and role is None:
            role = "site"
            origins = {_normalise_origin(origin) for origin in site_origins}
    return role, origins


def _normalise_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def _same_origin(origin: str, request: Request) -> bool:
    parts = urlsplit(origin)
    return parts.netloc.lower() == request.headers.get("host", "").lower()
