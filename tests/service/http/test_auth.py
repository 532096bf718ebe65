"""Who is calling, decided from a bare request: key parsing, the admin, site and local roles, origins and
loopback addresses. The routes that use these rules are tested through the app in test_api_security.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.requests import Request

from service.http.auth import (
    Principal,
    allowed_origins,
    authenticate,
    bearer_key,
    client_address,
    is_loopback,
    key_fingerprint,
    require_admin_or_local,
)
from service.http.errors import ApiError
from service.settings import Settings

ADMIN_KEY = "admin-secret-key"
SITE_KEY = "site-public-key"


def request(
    *,
    authorization: str | None = None,
    origin: str | None = None,
    host: str = "footnote.local:8000",
    client: Any = None,
) -> Request:
    headers = [(b"host", host.encode())]
    if authorization is not None:
        headers.append((b"authorization", authorization.encode()))
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    scope = {"type": "http", "method": "POST", "path": "/v1/documents", "headers": headers, "client": client}
    return Request(scope)


def keyed(tmp_path: Path, **site_keys: list[str]) -> Settings:
    keys = site_keys or {SITE_KEY: ["https://news.example"]}
    return Settings(home=tmp_path, admin_key=SecretStr(ADMIN_KEY), site_keys=keys)


def open_settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, admin_key=None, site_keys={})


def refused(call: Any, *args: Any) -> ApiError:
    with pytest.raises(ApiError) as raised:
        call(*args)
    return raised.value


@pytest.mark.parametrize("header", ["Bearer  k-1 ", "bearer k-1", "BEARER k-1"])
def test_the_bearer_scheme_is_case_insensitive_and_the_key_is_trimmed(header: str) -> None:
    assert bearer_key(request(authorization=header)) == "k-1"


def test_no_authorization_header_is_no_key() -> None:
    assert bearer_key(request()) is None


@pytest.mark.parametrize("header", ["Basic a2V5", "Bearer", "Bearer    ", "k-1"])
def test_an_authorization_header_that_is_not_a_bearer_key_is_a_401(header: str) -> None:
    error = refused(bearer_key, request(authorization=header))
    assert (error.status, error.code) == (401, "invalid_key")


def test_a_keys_fingerprint_is_short_stable_and_does_not_reveal_the_key() -> None:
    fingerprint = key_fingerprint(ADMIN_KEY)
    assert fingerprint == key_fingerprint(ADMIN_KEY) != key_fingerprint(SITE_KEY)
    assert len(fingerprint) == 12 and int(fingerprint, 16) >= 0
    assert ADMIN_KEY not in fingerprint


def test_the_admin_is_named_by_the_fingerprint_of_the_key_never_by_the_key(tmp_path: Path) -> None:
    principal = authenticate(request(authorization=f"Bearer {ADMIN_KEY}"), keyed(tmp_path))
    assert principal == Principal("admin", f"admin:{key_fingerprint(ADMIN_KEY)}")


def test_a_key_that_is_both_the_admin_key_and_a_site_key_is_the_admin(tmp_path: Path) -> None:
    settings = keyed(tmp_path, **{ADMIN_KEY: ["https://news.example"]})
    assert authenticate(request(authorization=f"Bearer {ADMIN_KEY}"), settings).role == "admin"


def test_site_key_origins_are_compared_without_case_or_a_trailing_slash(tmp_path: Path) -> None:
    settings = keyed(tmp_path, **{SITE_KEY: ["https://News.Example/"]})
    principal = authenticate(request(authorization=f"Bearer {SITE_KEY}", origin="https://news.example"), settings)
    assert principal == Principal("site", f"site:{key_fingerprint(SITE_KEY)}")
    assert allowed_origins(settings) == {"https://news.example"}


@pytest.mark.parametrize("origin", [None, "https://evil.example", "http://news.example", "https://news.example:8443"])
def test_a_site_key_from_any_other_origin_is_a_403(tmp_path: Path, origin: str | None) -> None:
    error = refused(authenticate, request(authorization=f"Bearer {SITE_KEY}", origin=origin), keyed(tmp_path))
    assert (error.status, error.code) == (403, "origin_not_allowed")


def test_a_site_keys_origin_does_not_open_another_site_keys_door(tmp_path: Path) -> None:
    settings = keyed(tmp_path, **{SITE_KEY: ["https://news.example"], "other-key": ["https://blog.example"]})
    assert allowed_origins(settings) == {"https://news.example", "https://blog.example"}
    error = refused(authenticate, request(authorization=f"Bearer {SITE_KEY}", origin="https://blog.example"), settings)
    assert error.code == "origin_not_allowed"


def test_with_keys_configured_no_key_or_an_unknown_key_is_a_401(tmp_path: Path) -> None:
    assert refused(authenticate, request(), keyed(tmp_path)).code == "missing_key"
    assert refused(authenticate, request(authorization="Bearer guess"), keyed(tmp_path)).code == "invalid_key"
    site_only = Settings(home=tmp_path, admin_key=None, site_keys={SITE_KEY: ["https://news.example"]})
    assert refused(authenticate, request(), site_only).code == "missing_key", "a site key alone closes the API too"


def test_without_keys_the_caller_is_local_and_named_by_address(tmp_path: Path) -> None:
    principal = authenticate(request(client=("203.0.113.9", 5000)), open_settings(tmp_path))
    assert principal == Principal("local", "address:203.0.113.9")
    error = refused(authenticate, request(authorization="Bearer anything"), open_settings(tmp_path))
    assert error.code == "invalid_key", "a key sent where none is configured is not silently ignored"


@pytest.mark.parametrize(
    ("address", "loopback"),
    [("127.0.0.1", True), ("127.4.5.6", True), ("::1", True), ("testclient", True)]
    + [("10.0.0.1", False), ("::ffff:8.8.8.8", False), ("unknown", False), ("localhost", False)],
)
def test_loopback_addresses(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback


def test_a_request_without_a_peer_address_is_not_this_machine() -> None:
    anonymous = request(client=None)
    assert client_address(anonymous) == "unknown"
    error = refused(require_admin_or_local, Principal("local", "address:unknown"), anonymous)
    assert error.status == 403


def test_the_admin_may_write_from_anywhere_and_any_page() -> None:
    remote = request(client=("203.0.113.9", 1), origin="https://evil.example")
    require_admin_or_local(Principal("admin", "admin:x"), remote)  # no error


def test_a_site_key_may_never_write() -> None:
    local = request(client=("127.0.0.1", 1))
    error = refused(require_admin_or_local, Principal("site", "site:x"), local)
    assert (error.status, error.code) == (403, "forbidden")


def test_a_local_user_writes_from_this_machine_from_no_page_or_its_own_page_only() -> None:
    local = Principal("local", "address:127.0.0.1")
    require_admin_or_local(local, request(client=("127.0.0.1", 1)))
    require_admin_or_local(local, request(client=("::1", 1), origin="http://footnote.local:8000"))
    require_admin_or_local(local, request(client=("127.0.0.1", 1), origin="http://FOOTNOTE.local:8000"))
    for origin in ("https://evil.example", "http://footnote.local:9999", "null"):
        error = refused(require_admin_or_local, local, request(client=("127.0.0.1", 1), origin=origin))
        assert "another site" in error.detail, origin
    error = refused(require_admin_or_local, local, request(client=("192.168.1.20", 1)))
    assert "FOOTNOTE_ADMIN_KEY" in error.detail
