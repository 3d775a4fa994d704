"""Canonical URLs: one spelling per article, so the same story is recognised by its URL.

Lower-cases scheme and host, drops default ports, fragments and tracking parameters
(``utm_*``, ``fbclid``, ``gclid``, ``mc_cid``…), sorts the remaining query. A page's own
``rel=canonical`` (or ``og:url``) wins over the link it was reached by, when it is an
absolute http(s) URL.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

TRACKING_PREFIXES = ("utm_",)
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "_ga",
        "_gl",
        "ocid",
        "cmpid",
        "spm",
    }
)
DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonicalize(url: str) -> str:
    """The canonical spelling of an absolute http(s) URL (others come back stripped)."""
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return url
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    ]
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query), doseq=True), ""))


def choose_canonical(fetched_url: str, declared: str | None) -> str:
    """The page's declared canonical URL if usable, else the URL it was fetched from."""
    if declared:
        absolute = urljoin(fetched_url, declared.strip())
        if urlsplit(absolute).scheme in DEFAULT_PORTS and urlsplit(absolute).hostname:
            return canonicalize(absolute)
    return canonicalize(fetched_url)
