"""Where a webhook may send: public internet addresses only, unless the operator allows
private ones (``VICINITY_WEBHOOK_ALLOW_PRIVATE``). A store names the URL, so without this
it could make the server call its own network: the cloud metadata service
(169.254.169.254), Redis, PostgreSQL, an admin page on 10.x (server-side request forgery).

Two checks, because the first alone is beaten by DNS:

- at subscription, a host that is a literal non-public address (IPv4 in any of the forms
  the resolver reads, ``127.1`` or ``0x7f000001`` included, or IPv6) or ``localhost`` is
  refused (422);
- at each delivery, :class:`PinnedTransport` resolves the host, refuses the request when
  any address is non-public (no connection is made), and connects to an address it vetted
  rather than letting the HTTP client resolve again: a name that answered a public address
  to the check and 127.0.0.1 to the connection (DNS rebinding) reaches nothing. TLS still
  checks the certificate against the host name (SNI), and the ``Host`` header is the URL's.

Public is :attr:`ipaddress.IPv4Address.is_global` (so not private, loopback, link-local,
shared 100.64/10, benchmarking or reserved), and not multicast; an IPv6 address that
carries an IPv4 one (mapped, 6to4, Teredo) is judged by that address too. Redirects are
never followed (:func:`client`): a 3xx is a failed attempt, not a second request.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import socket
import ssl
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from kernel.errors import Invalid

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolve = Callable[[str, int], list[str]]
"""A host and port to its addresses, in the resolver's order of preference."""


class RefusedTarget(httpx.TransportError):
    """The webhook's host is, or resolves to, an address it may not reach."""


def is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        carried = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
        if any(v4 is not None and not is_public(v4) for v4 in carried):
            return False
        if address.ipv4_mapped is not None:
            return True  # its IPv4 address is public; the mapping itself counts as reserved
    return address.is_global and not address.is_multicast and not address.is_reserved


def literal_address(host: str) -> Address | None:
    """The address a host names without DNS: an IP literal, or IPv4 in a legacy form the
    resolver reads too (``127.1``, ``2130706433``, ``0x7f.1``), a final dot ignored."""
    host = host.rstrip(".")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _is_localhost(host: str) -> bool:
    # RFC 6761: localhost and every name under it are this machine.
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse (422) a webhook URL whose host is a non-public address or localhost."""
    if allow_private:
        return
    host = urlsplit(url).hostname or ""
    address = literal_address(host)
    if _is_localhost(host) or (address is not None and not is_public(address)):
        raise Invalid(
            f"a webhook URL must reach a public internet address, not {host!r} "
            "(private, loopback, link-local, reserved and multicast addresses are refused)"
        )


def resolve(host: str, port: int) -> list[str]:
    """The system resolver's addresses for ``host``, in its order, without repeats."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def vetted(host: str, port: int, *, allow_private: bool, lookup: Resolve) -> list[Address]:
    """The addresses to connect to for ``host``; :class:`RefusedTarget` if any is
    non-public (one bad answer among good ones is how rebinding is usually served)."""
    try:
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in lookup(host, port)]
    except OSError as error:
        raise httpx.ConnectError(f"cannot resolve {host}: {error}") from error
    if not addresses:
        raise httpx.ConnectError(f"cannot resolve {host}: no address")
    refused = [a for a in addresses if not is_public(a)]
    if refused and not allow_private:
        raise RefusedTarget(
            f"{host} resolves to {refused[0]}, not a public address: no request sent"
        )
    return addresses


@functools.cache
def _tls(_cert_file: str | None, _cert_dir: str | None) -> ssl.SSLContext:
    # Building a context loads the CA bundle: ~18 ms of CPU, most of a delivery's cost when
    # every task made its own. One per trust configuration (the environment's CA file or
    # folder, as httpx reads them) serves every delivery.
    return httpx.create_ssl_context()


def _shared_tls() -> ssl.SSLContext:
    return _tls(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


class PinnedTransport(httpx.BaseTransport):
    """HTTP to the addresses :func:`vetted` approved, never to a second resolution."""

    def __init__(self, *, allow_private: bool, lookup: Resolve = resolve) -> None:
        self._allow_private = allow_private
        self._lookup = lookup
        # One pool per host name: a connection is keyed by address, and one opened (and its
        # certificate checked) for a.example must not carry a request for b.example.
        self._pools: dict[str, httpx.HTTPTransport] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        host = url.host
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = vetted(host, port, allow_private=self._allow_private, lookup=self._lookup)
        # The Host header was set from the URL when the request was built; SNI and the
        # certificate check follow the name, not the address.
        request.extensions = {**request.extensions, "sni_hostname": host}
        pool = self._pools.get(host)
        if pool is None:
            pool = self._pools[host] = httpx.HTTPTransport(verify=_shared_tls())
        failure: httpx.ConnectError | None = None
        for address in addresses:
            request.url = url.copy_with(host=str(address))
            try:
                return pool.handle_request(request)
            except httpx.ConnectError as error:  # nothing sent: the next address is safe
                failure = error
        assert failure is not None
        raise failure

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()


def client(*, allow_private: bool, lookup: Resolve = resolve) -> httpx.Client:
    """The HTTP client of webhook deliveries: pinned, no redirects, no proxy from the
    environment (a proxy would resolve the name again, beyond the check)."""
    transport = PinnedTransport(allow_private=allow_private, lookup=lookup)
    return httpx.Client(transport=transport, follow_redirects=False, trust_env=False)
