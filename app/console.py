"""The browser side, served from the package's own files (app/console_dist/, built by `make web`).

- GraphiQL (development only): `GET /graphql` asking for HTML answers its page, its files
  live under `/graphiql/`. Nothing is fetched from another host.
- The web console (the Reseller Space, web/) answers every other `GET`: its router shows
  the page, including every page an email links to (resolvers/links.py). Its hashed files
  live under `/assets/`.

Both are HTML pages: the edge middleware gives them the Content-Security-Policy that allows
only the server itself (settings.content_security_policy_html).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from config.settings import Settings

DIST = Path(__file__).parent / "console_dist"
CONSOLE_DIR = DIST / "console"
GRAPHIQL_DIR = DIST / "graphiql"

# The security headers, the 'self'-only CSP of HTML pages (settings.
# content_security_policy_html) among them, come from app/edge_middleware.py.
_PAGE_HEADERS = {"cache-control": "no-cache"}
# Vite names every file under assets/ by its content hash: it never changes.
_ASSET_HEADERS = {"cache-control": "public, max-age=31536000, immutable"}


class _HashedFiles(StaticFiles):
    """Static files with a long cache (their names carry a content hash)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers.update(_ASSET_HEADERS)
        return response


def page(index: Path) -> Response:
    """An HTML entry point of a built bundle, never cached (it names the current assets)."""
    if not index.is_file():
        return PlainTextResponse(
            f"{index.relative_to(DIST.parent)} is missing: run `make web`.", status_code=503
        )
    return FileResponse(index, media_type="text/html", headers=_PAGE_HEADERS)


def graphiql_page() -> Response:
    return page(GRAPHIQL_DIR / "index.html")


def graphiql_enabled(settings: Settings) -> bool:
    return settings.graphiql and not settings.production


async def _console(request: Request) -> Response:
    if request.url.path.startswith("/graphiql/"):  # GraphiQL's files, where it is off
        return PlainTextResponse("Not Found", status_code=404)
    return page(CONSOLE_DIR / "index.html")


def routes(settings: Settings) -> list[BaseRoute]:
    """Placed after the API's routes: the console's catch-all answers what they do not."""
    found: list[BaseRoute] = []
    if graphiql_enabled(settings):
        found.append(
            Mount(
                "/graphiql/assets",
                _HashedFiles(directory=GRAPHIQL_DIR / "assets", check_dir=False),
            )
        )
    found += [
        Mount("/assets", _HashedFiles(directory=CONSOLE_DIR / "assets", check_dir=False)),
        Route("/", _console, methods=["GET", "HEAD"]),
        Route("/{path:path}", _console, methods=["GET", "HEAD"]),
    ]
    return found
