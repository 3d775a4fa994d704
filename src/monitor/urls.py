"""Canonical URLs: one spelling per article, so the same story is recognised by its URL.

:func:`canonicalize` lower-cases scheme and host (IDNs in punycode), drops default ports,
fragments, tracking parameters (``utm_*``, ``fbclid``, ``gclid``, ``mc_cid``…) and AMP
markers (``?amp=1``, ``/amp/`` segments, ``.amp.html``), treats ``www.``, ``m.``,
``mobile.`` and ``amp.`` hosts as the bare domain, drops a trailing slash (but not the
root's), normalizes percent-encoding (unreserved characters decoded, escapes in upper
case, spaces and non-ASCII encoded) and sorts the remaining query. The path's case is
kept: servers may tell ``/A`` from ``/a``.

A page's own ``rel=canonical`` (or ``og:url``) wins over the link it was reached by,
when it is an http(s) URL on the page's own registrable domain, its feed's, or one of
``http.canonical_aliases`` (:func:`choose_canonical`): anyone can write any URL in that
tag, and a canonical taken on trust would let one site pose as another outlet's
article. The registrable domain (``news.bbc.co.uk`` → ``bbc.co.uk``) comes from the
Public Suffix List snapshot that the ``tld`` package ships; nothing is fetched.

Google News feed links point at ``news.google.com``; :func:`resolve_google_news` reads
the publisher's URL out of the older link format (a base64 protobuf that carries it).
Newer links carry only an opaque id; those are left alone and the page fetch follows
them, and :func:`publisher_from_google_page` reads the publisher's URL from the page.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qsl, quote, unquote, urljoin, urlsplit, urlunsplit

from bs4 import BeautifulSoup, Tag
from tld import get_fld

from monitor import limits

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
        "amp",
        "outputtype",
        "__twitter_impression",
        "ref_src",
        "smid",
        "oc",
    }
)
DEFAULT_PORTS = {"http": 80, "https": 443}
ALIAS_LABELS = ("www.", "m.", "mobile.", "amp.")
_AMP_SEGMENT = re.compile(r"/amp(?=/|$)")
_AMP_SUFFIX = re.compile(r"\.amp(?=\.html?$)")
# Characters kept literally in a path; everything else is percent-encoded.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_QUERY_SAFE = "/:@!$'()*+,;-._~?"


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def _host(hostname: str) -> str:
    host = hostname.lower().rstrip(".")
    if ":" in host:
        return f"[{host}]"
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        pass  # not a valid IDN: keep it as written
    for label in ALIAS_LABELS:
        # Only strip when a registrable domain is left ("m.example.com", not "m.co").
        if host.startswith(label) and host.count(".") >= 2:
            return host[len(label) :]
    return host


def _path(path: str) -> str:
    # unquote then quote: %7E → ~, %2f → %2F, " " → %20, "é" → %C3%A9. An encoded slash
    # stays encoded, since decoding it would change the path's segments.
    segments = [quote(unquote(seg), safe=_PATH_SAFE.replace("/", "")) for seg in path.split("/")]
    path = "/".join(segments)
    path = _AMP_SUFFIX.sub("", _AMP_SEGMENT.sub("", path))
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path or "/"


def canonicalize(url: str) -> str:
    """The canonical spelling of an absolute http(s) URL (others come back stripped)."""
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return url
    host = _host(parts.hostname)
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    )
    encoded = "&".join(
        f"{quote(k, safe=_QUERY_SAFE)}={quote(v, safe=_QUERY_SAFE)}" for k, v in query
    )
    return urlunsplit((scheme, netloc, _path(parts.path), encoded, ""))


def registrable_domain(url: str) -> str:
    """The registrable domain of a URL's host, lower case (``www.cna.com.tw`` →
    ``cna.com.tw``); for an IP address the address, for a name under no public suffix
    the list knows its last two labels (``localhost`` as it is); ``""`` when the URL has
    no host."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if not host:
        return ""
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        pass  # not a valid IDN: compared as written
    found = get_fld(host, fix_protocol=True, fail_silently=True)
    if isinstance(found, str):
        return found.lower()
    if ":" in host or host.replace(".", "").isdigit():
        return host  # an IP address is its own domain
    # Under no public suffix the list knows (".example", ".internal"): its last two labels.
    return ".".join(host.split(".")[-2:])


def choose_canonical(
    fetched_url: str,
    declared: str | None,
    trusted: tuple[str, ...] = (),
    aliases: tuple[tuple[str, ...], ...] = (),
) -> str:
    """The page's declared canonical URL if it may be used, else the URL it was
    fetched from (both canonicalized). See :func:`judge_canonical`."""
    return judge_canonical(fetched_url, declared, trusted, aliases)[0]


def judge_canonical(
    fetched_url: str,
    declared: str | None,
    trusted: tuple[str, ...] = (),
    aliases: tuple[tuple[str, ...], ...] = (),
) -> tuple[str, str | None]:
    """(canonical URL, why the page's declared one was ignored, or None).

    The declared URL is used when it is an http(s) URL no longer than a stored link
    whose registrable domain is the fetched page's, one of the ``trusted`` URLs' (the
    feed's), or in one group of ``aliases`` with one of those.
    """
    fetched = canonicalize(fetched_url)
    if not declared or not declared.strip():
        return fetched, None
    absolute = urljoin(fetched_url, declared.strip())
    parts = urlsplit(absolute)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return fetched, f"declared canonical {declared[:200]!r} is no http(s) URL; ignored"
    if len(absolute) > limits.URL:
        return fetched, f"declared canonical of {len(absolute)} characters; ignored"
    domain = registrable_domain(absolute)
    own = {registrable_domain(fetched_url), *(registrable_domain(u) for u in trusted)} - {""}
    allowed = set(own)
    for group in aliases:
        names = {name.lower() for name in group}
        if names & own:
            allowed |= names
    if domain in allowed:
        return canonicalize(absolute), None
    return fetched, (
        f"declared canonical {absolute[:200]} ignored: {domain} is not the page's domain "
        f"({', '.join(sorted(own))}) nor an alias of it (http.canonical_aliases)"
    )


# -- Google News -----------------------------------------------------------------------

GOOGLE_NEWS_HOST = "news.google.com"
_ARTICLE_PATH = re.compile(r"^/(?:rss/)?articles/([A-Za-z0-9_-]+)")


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while at < len(data):
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if not byte & 0x80:
            return value, at
        shift += 7
    raise ValueError("truncated varint")


def resolve_google_news(link: str) -> str | None:
    """The publisher's URL inside a Google News article link, or None when the link is
    not a Google News one or does not carry the URL (newer opaque ids)."""
    parts = urlsplit(link)
    if (parts.hostname or "").lower() != GOOGLE_NEWS_HOST:
        return None
    match = _ARTICLE_PATH.match(parts.path)
    if not match:
        return None
    token = match.group(1)
    try:
        data = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        return None
    # Older ids: protobuf field 1 (varint), then field 4 (bytes) = the URL.
    if not data.startswith(b"\x08\x13\x22"):
        return None
    try:
        length, start = _varint(data, 3)
    except ValueError:
        return None
    candidate = data[start : start + length]
    try:
        url = candidate.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if urlsplit(url).scheme in DEFAULT_PORTS and urlsplit(url).hostname:
        return url
    return None


def publisher_from_google_page(html: str, page_url: str) -> str | None:
    """The publisher's URL on a ``news.google.com`` article page (the redirect page
    Google serves): its ``data-n-au`` attribute, a ``<meta refresh>``, or the first link
    that leaves Google."""
    if (urlsplit(page_url).hostname or "").lower() != GOOGLE_NEWS_HOST:
        return None
    soup = BeautifulSoup(html, "lxml")
    tagged = soup.find(True, attrs={"data-n-au": True})
    candidates: list[str] = []
    if isinstance(tagged, Tag):
        candidates.append(str(tagged.get("data-n-au")))
    refresh = soup.find("meta", attrs={"http-equiv": re.compile("^refresh$", re.I)})
    if isinstance(refresh, Tag):
        content = str(refresh.get("content") or "")
        _, _, target = content.partition("url=")
        candidates.append(target.strip(" '\""))
    for anchor in soup.find_all("a", href=True):
        candidates.append(str(anchor.get("href")))
    for candidate in candidates:
        absolute = urljoin(page_url, candidate)
        host = (urlsplit(absolute).hostname or "").lower()
        if urlsplit(absolute).scheme in DEFAULT_PORTS and host and "google." not in host:
            return absolute
    return None
