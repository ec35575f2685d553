"""Where a webhook may be sent (SPEC section 8): public HTTPS addresses only, checked when
an endpoint is saved and again at every delivery, unless ``WEBHOOKS_ALLOW_PRIVATE``.

A check at save time alone is not enough: the name can resolve to 127.0.0.1 tomorrow, or
resolve to a public address for the check and a private one a moment later for the
connection (DNS rebinding). So a delivery resolves the name once, checks every address it
got, and connects to the checked address itself (``PinnedHTTPSConnection``); TLS still
verifies the certificate against the name, which is also sent as SNI and Host.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(ValueError):
    """A URL a webhook may not be sent to; the message says why and what to do."""


def address_is_public(address: IPAddress) -> bool:
    """Whether an address is one on the public internet: not private, loopback, link-local,
    multicast, reserved, unspecified or shared (carrier-grade NAT), looking through IPv6
    forms that carry an IPv4 address (mapped ``::ffff:10.0.0.1``, 6to4, Teredo)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address_is_public(address.ipv4_mapped)  # ::ffff:a.b.c.d reaches a.b.c.d
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None and not address_is_public(embedded):
            return False
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


@dataclass(frozen=True)
class Target:
    """A checked URL: its parts, and the addresses its host resolved to (all checked)."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def allow_private() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE", False))


def _parts(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port out of range
    except ValueError:
        raise AddressRefused(_("This is not a URL; write it as https://example.com/webhooks.")) from None
    return parts


def url_check(url: str, *, resolve: bool = True) -> Target:
    """The URL's target if a webhook may be sent there, else ``AddressRefused`` saying why.

    Resolves the host (unless ``resolve`` is false) and refuses it if any of its addresses is
    not public: a name that answers with one private address among public ones could be
    reached at that one."""
    parts = _parts(url)
    private_ok = allow_private()
    scheme = (parts.scheme or "").lower()
    if scheme != "https" and not (private_ok and scheme == "http"):
        raise AddressRefused(_("Use an https:// URL: webhooks are sent over HTTPS only."))
    host = parts.hostname
    if not host:
        raise AddressRefused(_("The URL has no host name; write it as https://example.com/webhooks."))
    if parts.username is not None or parts.password is not None:
        raise AddressRefused(
            _("Remove the user name and password from the URL; check the webhook-signature header instead.")
        )
    port = parts.port or (443 if scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses: tuple[str, ...] = (str(literal),)
    elif resolve:
        addresses = resolve_host(host, port)
    else:
        addresses = ()
    if not private_ok:
        for address in addresses:
            if not address_is_public(ipaddress.ip_address(address)):
                raise AddressRefused(
                    _(
                        "%(host)s is a private, loopback, link-local or otherwise non-public address (%(address)s); "
                        "use a URL that is reachable from the internet."
                    )
                    % {"host": host, "address": address}
                )
    return Target(scheme=scheme, host=host, port=port, path=path, addresses=addresses)


def resolve_host(host: str, port: int) -> tuple[str, ...]:
    """Every address ``host`` resolves to, IPv4 and IPv6, or ``AddressRefused``."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise AddressRefused(
            _("%(host)s cannot be resolved; check the host name for typos.") % {"host": host}
        ) from None
    # Scope ids ("fe80::1%eth0") are dropped so ipaddress parses the address.
    addresses = tuple(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))
    if not addresses:
        raise AddressRefused(_("%(host)s cannot be resolved; check the host name for typos.") % {"host": host})
    return addresses
