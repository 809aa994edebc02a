"""Outlets that are not feeds, on the fake outlet server: HTML pages, sitemaps and a t.me stand-in.

The documents are hand-written samples in tests/watchers/samples/, shaped like the real thing.
"""

from __future__ import annotations

from pathlib import Path

from tests.fake_servers.feeds import FeedServer, Route

SAMPLES = Path(__file__).resolve().parents[1] / "watchers" / "samples"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def html(body: bytes) -> Route:
    return Route(body, content_type="text/html")


def serve_channel(server: FeedServer, channel: str, page: str) -> str:
    """A public channel: t.me/s/<channel> shows its posts. Returns the channel URL a user would paste."""
    server.serve(f"/s/{channel}", html(sample(page)))
    return server.url(f"/{channel}")


def serve_channel_without_preview(server: FeedServer, channel: str, page: str) -> str:
    """Missing, private or preview-less: like t.me, /s/<channel> redirects to the plain /<channel> page."""
    server.serve(f"/s/{channel}", Route(b"", status=302, headers={"Location": f"/{channel}"}))
    server.serve(f"/{channel}", html(sample(page)))
    return server.url(f"/{channel}")


def serve_sitemap_index(server: FeedServer) -> str:
    """An index of monthly sitemaps (the newest three are read) and the children it names."""
    index = sample("sitemap_index.xml").replace(b"{base}", server.url("").encode())
    for month in ("08", "09", "10", "11"):
        loc = f"https://timesca.com/2026/{month}/15/central-asia-story-of-month-{month}/"
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>{loc}</loc><lastmod>2026-{month}-15T10:00:00Z</lastmod></url></urlset>"
        )
        server.serve(
            f"/sitemaps/posts-2026-{month}.xml", Route(body.encode(), content_type="application/xml")
        )
    return server.serve("/sitemap_index.xml", Route(index, content_type="application/xml"))
