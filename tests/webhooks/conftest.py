"""What the webhook tests share: a DNS of our own (there is no internet here) and a
receiver that stands in for the HTTP POST."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field

import pytest

from webhooks import transport
from webhooks.services import webhook_endpoint_create

PUBLIC_ADDRESS = "93.184.215.14"
# Host names as the tests' DNS answers them.
DNS = {
    "hooks.example.com": [PUBLIC_ADDRESS],
    "v6.example.com": ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    "rebind.example.com": ["127.0.0.1"],
    "mixed.example.com": [PUBLIC_ADDRESS, "10.0.0.5"],
    "linklocal.example.com": ["169.254.169.254"],
    "mapped.example.com": ["::ffff:127.0.0.1"],
}
HOOK_URL = "https://hooks.example.com/prime"


def _is_literal(host) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@pytest.fixture(autouse=True)
def dns(monkeypatch):
    """``socket.getaddrinfo`` answering from ``DNS`` (a test may change it); IP literals
    and localhost go to the real resolver, other names do not resolve."""
    real = socket.getaddrinfo
    answers = {name: list(addresses) for name, addresses in DNS.items()}

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [
                (
                    socket.AF_INET6 if ":" in address else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (address, port, 0, 0) if ":" in address else (address, port),
                )
                for address in answers[host]
            ]
        if host == "localhost" or _is_literal(host):
            return real(host, port, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@dataclass
class Receiver:
    """Stands in for ``transport.post``: records each request and answers with the next
    status of ``answers`` (the last one repeated), or raises it if it is an exception."""

    answers: list = field(default_factory=lambda: [204])
    requests: list = field(default_factory=list)

    def post(self, target, *, address, body, headers):
        self.requests.append({"target": target, "address": address, "body": body, "headers": headers})
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        return transport.Answer(status_code=answer)


@pytest.fixture
def receiver(monkeypatch):
    fake = Receiver()
    monkeypatch.setattr(transport, "post", fake.post)
    return fake


@pytest.fixture
def endpoint(seller, seller_user):
    return webhook_endpoint_create(
        seller=seller,
        actor=seller_user,
        url=HOOK_URL,
        event_types=["seller.status_changed", "snapshot.computed", "plan.decided"],
    )
