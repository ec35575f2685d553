"""Settings from the environment fail loudly on a value they cannot use, naming the variable
and the fix. The env helpers are tested directly; whole settings modules are imported in a
fresh interpreter with a crafted environment, as a server would start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_int, env_list, env_str, env_timezone

BASE_DIR = Path(__file__).resolve().parent.parent
# A database the settings accept, for a settings module imported in a fresh interpreter
# (here, tests/test_hardening.py, tests/test_static_files.py); importing them connects to nothing.
SOME_DATABASE_URL = "postgres://portal@db.example.com:5432/portal"
GOOD_SECRET_KEY = "x7#Qm2!vR9pL4wK8zT1nB6yH3jF5dS0aG-cE_uI+oP=rU*tY&eW^qZ%xC@vB$nM"


# --- env helpers -------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("1", True), (" Yes ", True), ("on", True),
                                               ("false", False), ("0", False), ("no", False), ("", False)])  # fmt: skip
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("DEBUG", raw)
    assert env_bool("DEBUG", default=not expected) is expected


def test_env_bool_refuses_anything_else_naming_the_variable(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match=r"DEBUG='maybe' is not a boolean: set it to one of true/false"):
        env_bool("DEBUG", default=False)


def test_env_bool_default_when_unset(monkeypatch):
    monkeypatch.delenv("DEBUG", raising=False)
    assert env_bool("DEBUG", default=True) is True


def test_env_int_refuses_a_non_number(monkeypatch):
    monkeypatch.setenv("EMAIL_PORT", "twenty-five")
    with pytest.raises(ImproperlyConfigured, match="EMAIL_PORT='twenty-five' is not a whole number"):
        env_int("EMAIL_PORT", 25)
    monkeypatch.setenv("EMAIL_PORT", " ")
    assert env_int("EMAIL_PORT", 25) == 25


def test_env_timezone_refuses_an_unknown_zone(monkeypatch):
    monkeypatch.setenv("TIME_ZONE", "Mars/Olympus_Mons")
    with pytest.raises(ImproperlyConfigured, match="TIME_ZONE='Mars/Olympus_Mons' is not an IANA time zone"):
        env_timezone("TIME_ZONE", "UTC")
    monkeypatch.setenv("TIME_ZONE", "Europe/Berlin")
    assert env_timezone("TIME_ZONE", "UTC") == "Europe/Berlin"


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", " portal.example.com, ,www.example.com ")
    assert env_list("ALLOWED_HOSTS", []) == ["portal.example.com", "www.example.com"]


def test_env_str_strips_and_defaults(monkeypatch):
    monkeypatch.setenv("EMAIL_HOST", "  smtp.example.com ")
    assert env_str("EMAIL_HOST") == "smtp.example.com"
    monkeypatch.delenv("EMAIL_HOST")
    assert env_str("EMAIL_HOST", "localhost") == "localhost"


# --- whole settings modules in a fresh interpreter ------------------------------------------


def import_settings(module: str, *, show: str | None = None, **environment: str) -> subprocess.CompletedProcess:
    """Import a settings module (as ``s``) with only ``environment`` (plus PATH, and a
    DATABASE_URL unless ``environment`` names one, "" for none) set; print a few values, or
    those of the expression ``show``."""
    env = {"PATH": os.environ.get("PATH", ""), "DATABASE_URL": SOME_DATABASE_URL, **environment}
    shown = (
        show or "s.DEBUG, s.TIME_ZONE, s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.ALLOWED_HOSTS"
    )
    code = f"import {module} as s; print({shown})"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )


def refused(result: subprocess.CompletedProcess, message: str) -> bool:
    return result.returncode != 0 and "ImproperlyConfigured" in result.stderr and message in result.stderr


def test_development_defaults_need_no_broker():
    result = import_settings("portal.settings", DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:4] == ["True", "America/Los_Angeles", "django.db.backends.postgresql", "True"]


def test_a_missing_database_url_stops_start_up_naming_the_ways_to_a_database():
    result = import_settings("portal.settings", DEBUG="true", DATABASE_URL="")
    assert refused(result, "DATABASE_URL is not set: run the command through `make`")
    assert "python -m portal.devdb -- COMMAND" in result.stderr


@pytest.mark.parametrize("url", ["sqlite:///db.sqlite3", "mysql://portal@db.example.com/portal"])
def test_a_database_other_than_postgresql_stops_start_up(url):
    result = import_settings("portal.settings", DEBUG="true", DATABASE_URL=url)
    assert refused(result, "is not a PostgreSQL database: the portal runs on PostgreSQL only")


def test_a_broker_url_turns_off_in_process_tasks():
    result = import_settings("portal.settings", DEBUG="true", CELERY_BROKER_URL="redis://127.0.0.1:6379/0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[3] == "False"


def test_bad_debug_value_stops_start_up():
    assert refused(import_settings("portal.settings", DEBUG="sure"), "DEBUG='sure' is not a boolean")


def test_bad_time_zone_stops_start_up():
    result = import_settings("portal.settings", DEBUG="true", TIME_ZONE="Pacific/Nowhere")
    assert refused(result, "TIME_ZONE='Pacific/Nowhere' is not an IANA time zone")


@pytest.mark.parametrize("url", ["nonsense://db.example.com/portal", "just words"])
def test_bad_database_url_stops_start_up(url):
    result = import_settings("portal.settings", DEBUG="true", DATABASE_URL=url)
    assert refused(result, "is not a database URL")


def test_missing_secret_key_without_debug_stops_start_up():
    result = import_settings("portal.settings")
    assert refused(result, "SECRET_KEY is not set")


def test_production_settings_refuse_debug():
    result = import_settings(
        "portal.settings_production", DEBUG="true", SECRET_KEY=GOOD_SECRET_KEY, ALLOWED_HOSTS="portal.example.com"
    )
    assert refused(result, "DEBUG is on with production settings")


def test_production_settings_refuse_a_short_secret_key():
    result = import_settings("portal.settings_production", SECRET_KEY="short", ALLOWED_HOSTS="portal.example.com")
    assert refused(result, "SECRET_KEY is too short for production")


def test_production_settings_start_with_a_long_key_and_hosts():
    result = import_settings(
        "portal.settings_production", SECRET_KEY=GOOD_SECRET_KEY, ALLOWED_HOSTS="portal.example.com"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "False" and "portal.example.com" in result.stdout


# --- the portal's address, which links in emails start with ----------------------------------


def test_the_portal_url_defaults_to_the_development_server_and_loses_its_trailing_slash():
    assert import_settings("portal.settings", show="s.PORTAL_URL", DEBUG="true").stdout.strip() == (
        "http://127.0.0.1:8000"
    )
    result = import_settings("portal.settings", show="s.PORTAL_URL", DEBUG="true", PORTAL_URL="https://p.example/")
    assert result.stdout.strip() == "https://p.example"


@pytest.mark.parametrize(
    "url", ["portal.example.com", "ftp://portal.example.com", "https://", "https://p.example/?a=1"]
)
def test_a_portal_url_that_is_no_web_address_stops_start_up(url):
    result = import_settings("portal.settings", DEBUG="true", PORTAL_URL=url)
    assert refused(result, f"PORTAL_URL={url!r} is not the portal's address")
    assert "e.g. https://portal.example.com" in result.stderr


def test_production_links_go_to_the_first_host_over_https_unless_the_portal_url_says_otherwise():
    production = {"SECRET_KEY": GOOD_SECRET_KEY, "ALLOWED_HOSTS": ".example.com,portal.example.com"}
    result = import_settings("portal.settings_production", show="s.PORTAL_URL", **production)
    assert result.stdout.strip() == "https://portal.example.com", result.stderr
    result = import_settings(
        "portal.settings_production", show="s.PORTAL_URL", PORTAL_URL="https://sfp.example.com", **production
    )
    assert result.stdout.strip() == "https://sfp.example.com", result.stderr
    # No host to go by: the development address, which ``check --deploy`` refuses (tests/test_hardening.py).
    result = import_settings(
        "portal.settings_production", show="s.PORTAL_URL", SECRET_KEY=GOOD_SECRET_KEY, ALLOWED_HOSTS="*"
    )
    assert result.stdout.strip() == "http://127.0.0.1:8000", result.stderr
