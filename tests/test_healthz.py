"""The health endpoint: a load balancer's liveness probe and the benchmark's floor."""

from __future__ import annotations


def test_healthz_says_ok_without_login_or_database(client):
    # No ``db`` fixture: pytest-django fails the test if the view touches the database.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")
    assert "no-cache" in response["Cache-Control"]


def test_healthz_refuses_writes(client):
    assert client.post("/healthz").status_code == 405
