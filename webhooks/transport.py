"""One POST of a webhook to an address already checked (``webhooks.addresses``).

http.client from the standard library: the portal has no HTTP client library, and this is
all it needs. The connection goes to the checked IP address, never to the name again (so DNS
cannot answer differently between the check and the connection); for HTTPS the TLS handshake
sends the name as SNI and verifies the certificate against it, and the Host header carries
it, so the receiver sees an ordinary request to its name. Redirects are not followed: a 3xx
is a failed attempt, and no redirect can lead a delivery to an address that was not checked.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
from dataclasses import dataclass

from webhooks.addresses import Target

# The limit for a whole attempt, connection to answer (SPEC section 8): each socket
# operation waits at most this long, and a watchdog cuts the connection when the attempt as a
# whole has taken it, so a receiver answering a byte at a time cannot hold a worker longer.
TIMEOUT_SECONDS = 5
# A receiver's answer is not read beyond this; only its status matters.
RESPONSE_READ_LIMIT = 4096


class PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to ``address`` for requests to ``host`` (Host: host)."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to ``address``; TLS sends ``host`` as SNI and checks the
    certificate against ``host`` (the default context: system CAs, hostname check)."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self.address = address
        self.tls_context = context

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = sock  # so the watchdog can cut a handshake that takes too long
        self.sock = self.tls_context.wrap_socket(sock, server_hostname=self.host)


@dataclass(frozen=True)
class Answer:
    status_code: int


def post(target: Target, *, address: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST ``body`` to the target at ``address`` (one of its checked addresses), the whole
    attempt within ``TIMEOUT_SECONDS``. Raises OSError (TimeoutError past the limit, refused
    connections, TLS failures) or http.client.HTTPException."""
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = PinnedHTTPSConnection(
            target.host, target.port, address=address, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
        )
    else:
        connection = PinnedHTTPConnection(target.host, target.port, address=address, timeout=TIMEOUT_SECONDS)
    expired = threading.Event()

    def cut() -> None:
        expired.set()
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked send or receive

    watchdog = threading.Timer(TIMEOUT_SECONDS, cut)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(RESPONSE_READ_LIMIT)
        return Answer(status_code=response.status)
    except (OSError, http.client.HTTPException):
        if expired.is_set():
            raise TimeoutError(f"no answer within {TIMEOUT_SECONDS} s") from None
        raise
    finally:
        watchdog.cancel()
        connection.close()
