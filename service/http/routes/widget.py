"""GET /widget.js (the embeddable chat widget, one static file) and GET /demo (a sample article page with it)."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from service.http.errors import ApiError

router = APIRouter(tags=["widget"])

WIDGET_DIR = Path(__file__).resolve().parent.parent / "widget"
# Site keys are public and end up in a page's HTML; keep them to a plain alphabet.
_SITE_KEY = re.compile(r"^[A-Za-z0-9._~-]{1,200}$")
_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)
# Browsers revalidate after five minutes, so a new widget reaches every site quickly; the ETag makes that cheap.
_WIDGET_CACHE = "public, max-age=300, must-revalidate"


@lru_cache(maxsize=1)
def _widget() -> tuple[bytes, str]:
    body = (WIDGET_DIR / "widget.js").read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@lru_cache(maxsize=1)
def _demo_template() -> tuple[str, str]:
    template = (WIDGET_DIR / "demo.html").read_text(encoding="utf-8")
    match = _STYLE.search(template)
    style = match.group(1) if match else ""
    digest = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode("ascii")
    return template, f"'sha256-{digest}'"


@router.get("/widget.js", include_in_schema=False)
def widget_js(request: Request) -> Response:
    """The chat widget: one self-contained script a page embeds with a single tag."""
    body, etag = _widget()
    headers = {
        "Cache-Control": _WIDGET_CACHE,
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
        # Loaded by other sites' pages as a script: allow that explicitly under cross-origin isolation too.
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/javascript; charset=utf-8", headers=headers)


@router.get("/demo", include_in_schema=False)
def demo(
    request: Request,
    key: Annotated[str | None, Query(max_length=200, description="A site key to embed.")] = None,
    inline: Annotated[bool, Query(description="Render the widget inside the page, not as a launcher.")] = False,
    open_: Annotated[bool, Query(alias="open", description="Start with the chat panel open.")] = False,
) -> Response:
    """A sample article page with the widget, under a strict Content-Security-Policy."""
    if key is not None and not _SITE_KEY.match(key):
        raise ApiError(422, "invalid_request", "a site key may only hold letters, digits and . _ ~ -")
    template, style_hash = _demo_template()
    source = str(request.url_for("widget_js"))
    attributes = [f'src="{html.escape(source)}"', "async"]
    if key:
        attributes.append(f'data-footnote-key="{html.escape(key)}"')
    if inline:
        attributes.append('data-footnote-target="#footnote-chat"')
    if open_:
        attributes.append('data-footnote-open="true"')
    page = template.replace("{{WIDGET_SCRIPT}}", f"<script {' '.join(attributes)}></script>").replace(
        "{{INLINE_SLOT}}", '<div id="footnote-chat"></div>' if inline else ""
    )
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "connect-src 'self'",
            f"style-src {style_hash}",
            "img-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    headers = {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    return Response(page, media_type="text/html; charset=utf-8", headers=headers)
