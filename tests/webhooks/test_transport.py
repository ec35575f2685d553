"""The transport's 5-second limit (SPEC section 8) holds for the whole attempt: a receiver
that answers a byte at a time, each within the socket timeout, cannot hold a worker longer
(nor past the attempt's lease, when a second worker would send the delivery again)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from webhooks import transport
from webhooks.addresses import Target


@pytest.fixture
def trickler():
    """A receiver on 127.0.0.1 that reads the request, then sends its answer one byte every
    0.2 s: never silent long enough for a per-read timeout."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        connection, _address = server.accept()
        with connection:
            connection.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 200 + b"\r\n\r\n":
                if stop.is_set():
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(0.2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    server.close()


def test_an_answer_trickling_in_times_out_at_the_limit(trickler, monkeypatch):
    monkeypatch.setattr(transport, "TIMEOUT_SECONDS", 1)
    target = Target(scheme="http", host="127.0.0.1", port=trickler, path="/hook", addresses=("127.0.0.1",))
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        transport.post(target, address="127.0.0.1", body=b"{}", headers={"Content-Type": "application/json"})
    assert time.monotonic() - started < 3
