"""The address guard (SPEC section 8): no private, loopback, link-local, multicast, reserved
or unspecified address, IPv4 or IPv6 (mapped too), and https only, both when an endpoint is
saved and at every delivery; both allowed with WEBHOOKS_ALLOW_PRIVATE."""

from __future__ import annotations

import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.webhooks.conftest import PUBLIC_ADDRESS
from webhooks.addresses import AddressRefused, address_is_public, url_check
from webhooks.choices import DeliveryStatus, EventType
from webhooks.forms import WebhookEndpointForm
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services import EndpointError, webhook_delivery_attempt, webhook_endpoint_create, webhook_events_emit
from webhooks.transport import PinnedHTTPConnection

NOT_PUBLIC = [
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "127.0.0.1",
    "127.8.8.8",
    "169.254.169.254",
    "0.0.0.0",
    "100.64.0.1",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "2002:7f00:1::1",  # 6to4 around 127.0.0.1
    "64:ff9b::7f00:1",
]
PUBLIC = ["93.184.215.14", "8.8.8.8", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_non_public_addresses_are_refused(address):
    assert not address_is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_accepted(address):
    assert address_is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://10.1.2.3:8443/hook",
        "https://[fe80::1]/hook",
        "https://rebind.example.com/hook",
        "https://mixed.example.com/hook",
        "https://linklocal.example.com/hook",
        "https://mapped.example.com/hook",
    ],
)
def test_urls_on_non_public_addresses_are_refused(url):
    with pytest.raises(AddressRefused, match="non-public address"):
        url_check(url)


def test_a_host_resolving_to_a_public_address_is_accepted():
    target = url_check("https://hooks.example.com:8443/prime?x=1")
    assert target.addresses == (PUBLIC_ADDRESS,) and target.port == 8443 and target.path == "/prime?x=1"
    assert url_check("https://v6.example.com/").addresses == ("2606:2800:21f:cb07:6820:80da:af6b:8b2c",)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.com/prime", "https://"),
        ("ftp://hooks.example.com/prime", "https://"),
        ("https://user:pw@hooks.example.com/prime", "user name and password"),
        ("https://unknown.example.com/prime", "cannot be resolved"),
        ("https:///prime", "no host name"),
    ],
)
def test_other_urls_are_refused_with_the_fix(url, message):
    with pytest.raises(AddressRefused, match=message):
        url_check(url)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.com/prime", "Use an https:// URL"),
        ("https://rebind.example.com/hook", "non-public address (127.0.0.1)"),
        ("https://[::ffff:10.0.0.1]/hook", "non-public address"),
        ("not a url", "is not a URL; write it as https://example.com/webhooks"),
    ],
)
def test_the_form_names_the_field_and_the_fix(url, message):
    form = WebhookEndpointForm({"url": url, "event_types": EventType.values})
    assert not form.is_valid()
    [error] = form.errors["url"]
    assert error.startswith("Endpoint URL: ") and message in error


@pytest.mark.django_db
def test_the_service_refuses_a_private_endpoint_whoever_calls(seller, seller_user):
    with pytest.raises(EndpointError, match="non-public"):
        webhook_endpoint_create(
            seller=seller, actor=seller_user, url="https://127.0.0.1/", event_types=EventType.values
        )


@pytest.mark.django_db
def test_allow_private_accepts_private_addresses_and_http(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    assert url_check("http://127.0.0.1:9000/hook").addresses == ("127.0.0.1",)
    assert url_check("https://rebind.example.com/hook").addresses == ("127.0.0.1",)
    form = WebhookEndpointForm({"url": "http://localhost:9000/hook", "event_types": EventType.values})
    assert form.is_valid(), form.errors


@pytest.mark.django_db
def test_a_name_that_resolves_to_loopback_at_delivery_time_is_not_contacted(clock, seller, endpoint, receiver, dns):
    """Public when saved, 127.0.0.1 when delivered (DNS rebinding): the attempt is refused
    and logged, nothing is sent."""
    dns["hooks.example.com"] = ["127.0.0.1"]
    [delivery_id] = webhook_events_emit(
        event_type=EventType.SELLER_STATUS_CHANGED, seller_ids=[seller.pk], data_for=lambda s: {}
    )
    assert webhook_delivery_attempt(delivery_id=delivery_id) == DeliveryStatus.PENDING
    assert receiver.requests == []
    [logged] = WebhookAttempt.objects.all()
    assert logged.status_code is None and "non-public address (127.0.0.1)" in logged.error
    assert WebhookDelivery.objects.get(pk=delivery_id).attempts == 1


@pytest.mark.django_db
def test_delivery_connects_to_the_address_it_checked(clock, seller, endpoint, receiver, dns):
    dns["hooks.example.com"] = ["93.184.215.14", "8.8.8.8"]
    [delivery_id] = webhook_events_emit(
        event_type=EventType.SELLER_STATUS_CHANGED, seller_ids=[seller.pk], data_for=lambda s: {}
    )
    webhook_delivery_attempt(delivery_id=delivery_id)
    assert receiver.requests[0]["address"] == "93.184.215.14"
    assert receiver.requests[0]["target"].host == "hooks.example.com"


class HostEcho(BaseHTTPRequestHandler):
    hosts: list = []

    def do_POST(self):
        HostEcho.hosts.append(self.headers["Host"])
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_the_pinned_connection_goes_to_the_address_without_asking_dns_again(monkeypatch):
    """The connection is made to the checked IP; the name is only the Host header, never
    looked up again, so a second DNS answer cannot redirect it."""
    server = HTTPServer(("127.0.0.1", 0), HostEcho)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    looked_up = []
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        looked_up.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    try:
        connection = PinnedHTTPConnection("hooks.example.com", server.server_address[1], address="127.0.0.1", timeout=5)
        connection.request("POST", "/prime", body=b"{}", headers={"Content-Type": "application/json"})
        assert connection.getresponse().status == 200
        connection.close()
    finally:
        server.shutdown()
        server.server_close()
    assert HostEcho.hosts == [f"hooks.example.com:{server.server_address[1]}"]
    assert "hooks.example.com" not in looked_up


def test_the_https_connection_sends_the_name_as_sni_and_checks_the_certificate_against_it(monkeypatch):
    import ssl

    from webhooks.transport import PinnedHTTPSConnection

    seen = {}

    class Context(ssl.SSLContext):
        def wrap_socket(self, sock, server_hostname=None, **kwargs):
            seen["server_hostname"] = server_hostname
            seen["peer"] = sock.getpeername()[0]
            sock.close()
            raise ssl.SSLCertVerificationError("stop here")

    server = HTTPServer(("127.0.0.1", 0), HostEcho)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        connection = PinnedHTTPSConnection(
            "hooks.example.com",
            server.server_address[1],
            address="127.0.0.1",
            timeout=5,
            context=Context(ssl.PROTOCOL_TLS_CLIENT),
        )
        with pytest.raises(ssl.SSLCertVerificationError):
            connection.request("POST", "/prime", body=b"{}")
    finally:
        server.shutdown()
        server.server_close()
    assert seen == {"server_hostname": "hooks.example.com", "peer": "127.0.0.1"}
    assert ssl.create_default_context().check_hostname  # the context deliveries use
