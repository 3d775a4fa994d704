"""Safe HTTP for feeds and article pages: one GET in, one :class:`FetchResult` out.

A bad URL or page is data, never an exception: every failure comes back as a status
(``blocked``, ``network_error``, ``timeout``, ``too_large``, ``http_error``…) with a
reason. The guards, in the order a request meets them:

* **SSRF guard** (:func:`check_url_safe`) on *every* hop, redirects included: only
  http(s), and every address the host resolves to must be public. Turned off by
  ``http.allow_private_addresses`` (the address part only; the scheme check stays).
* **Address pinning** (:class:`PinnedBackend`, under the client's
  :class:`PinnedTransport`): the connection resolves the host once more, checks those
  addresses the same way, and dials the checked IP itself, never the name. The early
  check gives a clear per-URL error; this one closes the gap between it and the
  connection, so a DNS server that answers differently the second time (DNS rebinding)
  still cannot reach 127.0.0.1 or 169.254.169.254. TLS still verifies the name.
* **Redirects** are followed here, not by httpx, so that each hop passes the guard;
  at most ``http.max_redirects``.
* **Time**: httpx read/connect timeouts per socket operation, plus one wall-clock
  deadline of ``http.timeout_seconds`` for the whole GET, checked between body chunks,
  so a server that drips a byte at a time cannot hold a run.
* **Size**: a ``Content-Length`` above ``http.max_bytes`` is refused before reading;
  otherwise the body is decoded here (gzip/deflate, never more than the room left under
  the cap at a time) and counted as it streams, and dropped past the cap: a gzip bomb
  costs at most the cap in memory. A compressed stream that ends early is an error, not
  a silently shortened page.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpcore
import httpx

from monitor.config import HttpConfig
from monitor.errors import UnsafeURLError
from monitor.records import FetchResult

LOGGER = logging.getLogger(__name__)

ALLOWED_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
# Dropped when a redirect leaves the origin, as browsers and httpx do.
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# httpcore's socket option tuples (level, name, value), as NetworkBackend declares them.
SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_ULA = ipaddress.IPv6Network("fc00::/7")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_TEREDO = ipaddress.IPv6Network("2001::/32")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _non_public_reason(address: IPAddress) -> str | None:
    """Why ``address`` is not public (``"loopback"``…), or None when it is.

    ``ipaddress.is_global`` alone is not enough on Python 3.11: it calls multicast and
    6to4 addresses global, and knows nothing of addresses embedded in IPv6 ones.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            inner = _non_public_reason(address.ipv4_mapped)
            return f"IPv4-mapped {address.ipv4_mapped}, {inner}" if inner else None
        if address in _SIX_TO_FOUR:
            # Tunnel ranges are refused outright: no news site is served from them.
            return f"6to4 tunnel address embedding {address.sixtofour}"
        if address in _TEREDO:
            return "Teredo tunnel address"
        if address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
            inner = _non_public_reason(embedded)
            return f"NAT64 of {embedded}, {inner}" if inner else None
    checks: tuple[tuple[bool, str], ...] = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT, "carrier-grade NAT"),
        (isinstance(address, ipaddress.IPv6Address) and address in _ULA, "unique local"),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, "site-local"),
        (address.is_reserved, "reserved"),
        (address.is_private, "private"),
        (not address.is_global, "not globally routable"),
    )
    return next((reason for refused, reason in checks if refused), None)


def _parse(url: str) -> httpx.URL:
    """Parse with httpx's own parser, so the guard sees the host httpx will connect to."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise UnsafeURLError(f"refused: malformed URL {url!r} ({exc})") from None
    if parsed.scheme not in ALLOWED_SCHEMES:
        shown = parsed.scheme or "(none)"
        raise UnsafeURLError(f"refused: scheme {shown!r} in {url!r} is not http or https")
    if not parsed.raw_host:
        raise UnsafeURLError(f"refused: no host in {url!r}")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise UnsafeURLError(f"refused: port {parsed.port} in {url!r} is out of range")
    return parsed


def _literal(host: str) -> IPAddress | None:
    """The address when ``host`` is an IP literal (an IPv6 zone ``%eth0`` dropped)."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def _resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` (ASCII, as sent to the resolver) resolves to; an IP literal
    is its own answer. Raises :class:`socket.gaierror` when the name does not resolve."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    # Odd spellings such as "2130706433" or "0x7f.1" are no literal to ipaddress but
    # are to the resolver (inet_aton), so they go through it, as the connection would.
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for info in infos:
        # An IPv6 link-local answer may carry a zone ("fe80::1%eth0").
        text = str(info[4][0]).split("%", 1)[0]
        addresses.append(ipaddress.ip_address(text))
    return addresses


def _refuse_non_public(host: str, addresses: list[IPAddress]) -> None:
    """Raise :class:`UnsafeURLError` naming the first of ``addresses`` (what ``host``
    resolved to) that is not public. Shared by the early check and the connection."""
    for address in addresses:
        reason = _non_public_reason(address)
        if reason is None:
            continue
        if _literal(host) is not None:
            where = f"{host} ({reason})"
        else:
            where = f"{host} resolves to {address} ({reason})"
        raise UnsafeURLError(
            f"refused: {where}, a non-public address; "
            "set http.allow_private_addresses: true to allow"
        )


def check_url_safe(url: str, allow_private: bool) -> None:
    """Refuse ``url`` unless it is http(s) and its host resolves only to public addresses.

    Raises :class:`UnsafeURLError` with the reason (bad scheme, malformed URL, or the
    first non-public address and its kind). With ``allow_private`` the address check is
    skipped; the scheme check is not. A host that cannot be resolved raises
    :class:`socket.gaierror` (an ``OSError``), which is not a refusal: the caller
    reports it as a network error. Resolution uses the system resolver and its timeout.

    This is the early check; :class:`PinnedBackend` repeats it on the addresses it
    actually connects to.
    """
    parsed = _parse(url)
    if allow_private:
        return
    port = parsed.port or DEFAULT_PORTS[parsed.scheme]
    _refuse_non_public(parsed.host, _resolve(parsed.raw_host.decode("ascii"), port))


class PinnedBackend(httpcore.NetworkBackend):
    """A network backend that connects only to addresses it has checked itself.

    ``connect_tcp`` resolves the host, refuses (:class:`UnsafeURLError`) if any address
    is not public, then dials the checked IPs in the resolver's order through the
    wrapped backend, never the name, so no second lookup can swap in another address.
    TLS still checks the name: httpcore passes the origin's host to ``start_tls`` as
    ``server_hostname``. With ``check=False`` it is the wrapped backend, unchanged.
    """

    def __init__(self, *, check: bool, inner: httpcore.NetworkBackend | None = None) -> None:
        self._check = check
        self._inner = inner if inner is not None else httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        if not self._check:
            return self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            addresses = _resolve(host, port)
        except (OSError, UnicodeError) as exc:
            detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise httpcore.ConnectError(f"cannot resolve host {host}: {detail}") from exc
        _refuse_non_public(host, addresses)
        options = None if socket_options is None else list(socket_options)
        # As socket.create_connection does: each address in turn, the last error raised.
        *others, last = dict.fromkeys(addresses)
        for address in others:
            try:
                return self._inner.connect_tcp(str(address), port, timeout, local_address, options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                LOGGER.debug("connect %s (%s) port %s: %s", host, address, port, exc)
        return self._inner.connect_tcp(str(last), port, timeout, local_address, options)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


# httpcore's errors as httpx's, most specific first, as httpx.HTTPTransport maps them.
_HTTPX_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core, mapped in _HTTPX_ERRORS:
            if isinstance(exc, core):
                raise mapped(str(exc)) from exc
        raise  # UnsafeURLError from PinnedBackend, and anything else, as it is


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            with _as_httpx_errors():
                close()


class PinnedTransport(httpx.BaseTransport):
    """httpx's plain HTTP/1.1 transport over a :class:`PinnedBackend`.

    ``httpx.HTTPTransport`` takes no network backend, but ``httpcore.ConnectionPool``
    does: this is that pool behind httpx's public transport interface, doing what
    ``HTTPTransport.handle_request`` does (no proxies, no HTTP/2; the fetcher uses
    neither). Environment proxies are not honoured: through a proxy the proxy would
    resolve the name, and the pinning would mean nothing.
    """

    def __init__(self, *, check: bool, limits: httpx.Limits | None = None) -> None:
        limits = limits if limits is not None else httpx.Limits()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(check=check),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.SyncByteStream):
            raise TypeError("PinnedTransport is synchronous; use it with httpx.Client")
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            response = self._pool.handle_request(core_request)
        if not isinstance(response.stream, Iterable):
            raise TypeError("httpcore returned an asynchronous body to a synchronous pool")
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


@dataclass(frozen=True, slots=True)
class _Redirect:
    """A hop's answer that says "go there next"."""

    location: str


def _plain_headers(headers: httpx.Headers) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _content_length(headers: httpx.Headers) -> int | None:
    try:
        return int(headers["content-length"])
    except (KeyError, ValueError):
        return None


_ENCODING_PROBLEMS = {
    "truncated": "body cut short: the compressed stream ends before its end marker",
    "bad_encoding": "body not decodable: unsupported or corrupt Content-Encoding",
}


def _decompressor(encoding: str, first: bytes) -> Any:
    """A zlib decompressor for ``gzip`` or ``deflate`` (zlib-wrapped, or raw as some
    servers send it: told apart by the zlib header check of the first two bytes)."""
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    wrapped = len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0
    return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)


def _same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.raw_host, a.port) == (b.scheme, b.raw_host, b.port)


class Fetcher:
    """GETs URLs through one ``httpx.Client`` behind the guards of this module.

    Use as a context manager, or call :meth:`close`, so the connection pool is released.
    The client connects through a :class:`PinnedTransport` (checking addresses unless
    ``http.allow_private_addresses``); ``transport`` replaces it, for tests.
    """

    def __init__(self, http: HttpConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        self._http = http
        # Enough pooled connections for every worker thread of the politeness layer.
        limits = httpx.Limits(max_connections=max(10, http.max_concurrency * 2))
        if transport is None:
            transport = PinnedTransport(check=not http.allow_private_addresses, limits=limits)
        self._client = httpx.Client(
            transport=transport,
            follow_redirects=False,
            timeout=httpx.Timeout(
                http.read_timeout_seconds,
                connect=http.connect_timeout_seconds,
                pool=http.timeout_seconds,
            ),
            headers={"User-Agent": http.user_agent_header, "Accept-Encoding": "gzip, deflate"},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def get(
        self,
        url: str,
        *,
        accept: str = "*/*",
        headers: Mapping[str, str] | None = None,
        allowed_types: tuple[str, ...] | None = None,
    ) -> FetchResult:
        """GET ``url``, following redirects, and say how it went; never raises for the URL.

        ``allowed_types`` are media-type prefixes (``"text/html"``, ``"application/"``);
        a response without a Content-Type is accepted.
        """
        started = time.monotonic()
        deadline = started + self._http.timeout_seconds
        request_headers = {"Accept": accept, **(headers or {})}
        current = url
        redirects = 0
        while True:
            outcome = self._hop(url, current, request_headers, allowed_types, started, deadline)
            if isinstance(outcome, FetchResult):
                return outcome
            if redirects >= self._http.max_redirects:
                return self._result(
                    url,
                    current,
                    started,
                    "too_many_redirects",
                    f"more than {self._http.max_redirects} redirects "
                    f"(the last pointed to {outcome.location})",
                )
            redirects += 1
            if not _same_origin(httpx.URL(current), httpx.URL(outcome.location)):
                request_headers = {
                    k: v for k, v in request_headers.items() if k.lower() not in CREDENTIAL_HEADERS
                }
            LOGGER.debug("redirect %s -> %s", current, outcome.location)
            current = outcome.location

    def _hop(
        self,
        url: str,
        current: str,
        request_headers: Mapping[str, str],
        allowed_types: tuple[str, ...] | None,
        started: float,
        deadline: float,
    ) -> FetchResult | _Redirect:
        """One request: a final result, or where the server redirects to."""
        try:
            check_url_safe(current, self._http.allow_private_addresses)
        except UnsafeURLError as exc:
            return self._result(url, current, started, "blocked", str(exc))
        except (OSError, UnicodeError, ValueError) as exc:
            host = httpx.URL(current).host
            detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            return self._result(
                url, current, started, "network_error", f"cannot resolve host {host}: {detail}"
            )
        if time.monotonic() > deadline:
            return self._result(url, current, started, "timeout", self._deadline_message())
        LOGGER.debug("GET %s", current)
        try:
            with self._client.stream("GET", current, headers=request_headers) as response:
                return self._respond(url, response, allowed_types, started, deadline)
        except UnsafeURLError as exc:
            # PinnedBackend's own check, at connect time: the name now resolves to a
            # non-public address (DNS rebinding, or a record that changed).
            return self._result(url, current, started, "blocked", str(exc))
        except httpx.TimeoutException as exc:
            return self._result(
                url, current, started, "timeout", f"timed out ({type(exc).__name__}): {exc}"
            )
        except httpx.RequestError as exc:
            detail = str(exc) or "no detail"
            return self._result(
                url,
                current,
                started,
                "network_error",
                f"network error ({type(exc).__name__}): {detail}",
            )
        except httpx.InvalidURL as exc:
            return self._result(url, current, started, "network_error", f"malformed URL: {exc}")

    def _respond(
        self,
        url: str,
        response: httpx.Response,
        allowed_types: tuple[str, ...] | None,
        started: float,
        deadline: float,
    ) -> FetchResult | _Redirect:
        status = response.status_code
        final_url = str(response.url)
        result_headers = _plain_headers(response.headers)

        def result(state: str, error: str | None = None, body: bytes = b"") -> FetchResult:
            return self._result(url, final_url, started, state, error, status, result_headers, body)

        if status in REDIRECT_CODES and "location" in response.headers:
            try:
                return _Redirect(str(response.url.join(response.headers["location"])))
            except httpx.InvalidURL as exc:
                return result("network_error", f"HTTP {status} with a malformed Location: {exc}")
        if status == 304:
            return result("not_modified")
        if status >= 300:
            error = f"HTTP {status} {response.reason_phrase}".rstrip()
            if status < 400:
                error += " (not a followable redirect)"
            body, problem = self._read_body(response, deadline, truncate=True)
            if problem == "timeout":
                return result("timeout", self._deadline_message())
            return result("http_error", error, body)
        if allowed_types is not None and "content-type" in response.headers:
            media = _media_type(response.headers["content-type"])
            if not media.startswith(tuple(t.lower() for t in allowed_types)):
                return result(
                    "bad_content_type",
                    f"content type {media!r} is not one of {', '.join(allowed_types)}",
                )
        length = _content_length(response.headers)
        if length is not None and length > self._http.max_bytes:
            return result("too_large", self._size_message(f"Content-Length {length}"))
        body, problem = self._read_body(response, deadline, truncate=False)
        if problem == "too_large":
            return result("too_large", self._size_message("the body"))
        if problem == "timeout":
            return result("timeout", self._deadline_message())
        if problem is not None:
            return result("network_error", _ENCODING_PROBLEMS[problem])
        return result("ok", body=body)

    def _read_body(
        self, response: httpx.Response, deadline: float, *, truncate: bool
    ) -> tuple[bytes, str | None]:
        """The decoded body, or ``b""`` and a problem: ``"too_large"``, ``"timeout"``,
        ``"truncated"`` (a gzip/deflate stream that ends early), ``"bad_encoding"``.

        With ``truncate``, a body past the cap is cut at the cap and kept (error pages).
        Content-Encoding is undone here, not by httpx, and never more than the room left
        under the cap at a time, so a bomb costs at most the cap in memory.
        """
        cap = self._http.max_bytes
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            return b"", "bad_encoding"
        decoder: Any = None
        chunks: list[bytes] = []
        size = 0
        for raw in response.iter_raw():
            if time.monotonic() > deadline:
                return b"", "timeout"
            if decoder is None and encoding not in ("", "identity"):
                decoder = _decompressor(encoding, raw)
            pending = raw
            while pending:
                if decoder is None:
                    out, pending = pending, b""
                else:
                    try:
                        out = decoder.decompress(pending, cap - size + 1)
                    except zlib.error:
                        return b"", "bad_encoding"
                    pending = decoder.unconsumed_tail
                size += len(out)
                if size > cap:
                    if truncate:
                        chunks.append(out[: len(out) - (size - cap)])
                        return b"".join(chunks), None
                    return b"", "too_large"
                chunks.append(out)
                if decoder is not None and decoder.eof:
                    break
        if decoder is not None and not decoder.eof:
            return b"", "truncated"
        return b"".join(chunks), None

    def _size_message(self, what: str) -> str:
        return f"{what} is larger than the cap of {self._http.max_bytes} bytes (http.max_bytes)"

    def _deadline_message(self) -> str:
        return (
            f"not finished within {self._http.timeout_seconds:g} s "
            "(http.timeout_seconds, wall clock)"
        )

    def _result(
        self,
        url: str,
        final_url: str,
        started: float,
        status: str,
        error: str | None = None,
        http_status: int | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> FetchResult:
        if error is not None:
            LOGGER.info("GET %s: %s: %s", url, status, error)
        return FetchResult(
            url=url,
            final_url=final_url,
            status=status,
            http_status=http_status,
            headers=dict(headers or {}),
            body=body,
            error=error,
            elapsed_seconds=time.monotonic() - started,
        )
