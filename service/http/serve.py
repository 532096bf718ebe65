"""`footnote serve`: run the HTTP API under uvicorn."""

from __future__ import annotations

import argparse
import logging

from service.http.auth import is_loopback, keys_configured
from service.settings import get_settings

logger = logging.getLogger("footnote.serve")


def add_serve_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `footnote serve`."""
    serve = commands.add_parser("serve", help="serve the HTTP API (and the widget)")
    serve.add_argument("--host", default=None, help="address to bind (default: FOOTNOTE_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port to listen on (default: FOOTNOTE_PORT, 8000)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(handler=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    """Load the models and index, then answer HTTP requests until interrupted."""
    import uvicorn

    from service.http.app import create_app

    settings = get_settings()
    host = args.host or settings.host
    port = args.port or settings.port
    logging.getLogger().setLevel(args.log_level.upper())
    if not keys_configured(settings) and not _binds_loopback_only(host):
        logger.warning(
            "no keys are configured: anyone who can reach %s may ask and search, and only this machine may "
            "change documents; set FOOTNOTE_ADMIN_KEY and FOOTNOTE_SITE_KEYS for a public service",
            host,
        )
    uvicorn.run(
        create_app(settings, load_in_background=True), host=host, port=port, log_level=args.log_level, access_log=False
    )
    return 0


def _binds_loopback_only(host: str) -> bool:
    return host == "localhost" or is_loopback(host)
