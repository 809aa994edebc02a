"""Article identity: canonical URLs, the key that says two feed entries are one article, and fingerprints."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from core.models import FeedItem
from core.normalize import fold_words

DEFAULT_PORTS = {"http": 80, "https": 443}
# Click and campaign ids that ad and mail platforms append; they never select a different page.
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "yclid",
        "msclkid",
        "twclid",
        "ttclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "ocid",
        "ncid",
        "cmpid",
        "sr_share",
        "ref_src",
    }
)
# Query parameters that only ask for the AMP rendering of the same article (`?amp`, `?amp=1`).
AMP_PARAMETERS = frozenset({"amp", "_amp"})
# Host prefixes of mobile and AMP mirrors: m.tengrinews.kz and amp.tengrinews.kz are tengrinews.kz.
MIRROR_HOST_PREFIXES = ("m.", "mobile.", "amp.")
AMP_PATH_SUFFIX = re.compile(r"/amp/?$|\.amp$", re.IGNORECASE)
LEAD_WORDS = 40


def is_tracking_parameter(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith("utm_") or lowered in TRACKING_PARAMETERS


def is_amp_parameter(name: str, value: str) -> bool:
    lowered = name.lower()
    return lowered in AMP_PARAMETERS or (lowered == "outputtype" and value.lower() == "amp")


def canonical_host(host: str) -> str:
    """The host without a mobile/AMP mirror prefix, when what remains is still a domain name."""
    for prefix in MIRROR_HOST_PREFIXES:
        rest = host.removeprefix(prefix)
        if rest != host and "." in rest:
            return rest
    return host


def canonical_path(path: str) -> str:
    """The path without an AMP suffix or a trailing slash; the root stays `/`."""
    path = AMP_PATH_SUFFIX.sub("", path)
    return path.rstrip("/") or "/"


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no default port, fragment, tracking parameters, mirror or AMP form.

    A link too broken to take apart (a port that is not a number, say) is kept as written:
    it still identifies the article, and one bad link must not fail a whole feed.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
        host = canonical_host((parts.hostname or "").lower())
    except ValueError:
        return url.strip()
    if ":" in host:
        host = f"[{host}]"  # IPv6 literals keep their brackets
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    kept = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not is_tracking_parameter(name) and not is_amp_parameter(name, value)
    ]
    # Parameter order never selects a different article, so one order stands for all of them.
    query = urlencode(sorted(kept))
    return urlunsplit((scheme, host, canonical_path(parts.path), query, ""))


def article_key(item: FeedItem) -> str:
    """The outlet-scoped identity of an entry: its GUID, else its link, else a hash of its title."""
    if item.guid:
        return item.guid.strip()
    if item.url:
        return canonical_url(item.url)
    title = " ".join(item.title.split()).casefold()
    return "title:" + hashlib.sha256(title.encode()).hexdigest()


def content_fingerprint(title: str, summary: str) -> str:
    """A hash of the folded title and lead: equal when only case, spacing or punctuation changed."""
    lead = fold_words(summary)[:LEAD_WORDS]
    text = " ".join(fold_words(title)) + "\n" + " ".join(lead)
    return hashlib.sha256(text.encode()).hexdigest()
