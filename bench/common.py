"""What every benchmark needs: the PostgreSQL server to run on, a database of its own on
it, and Django pointed at that database. Benchmarks never touch the dev or test databases."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

import psycopg

BENCH_SECRET_KEY = "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


def admin_url() -> str:
    """The server's maintenance database (``DATABASE_URL``), from which bench databases are made."""
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not url.startswith("postgres"):
        sys.exit("The benchmark needs PostgreSQL: set DATABASE_URL=postgres://USER@HOST:PORT/postgres.")
    return url


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def fresh_database(url: str, name: str) -> str:
    """Drop and create database ``name`` on the server of ``url``; its URL."""
    drop_database(url, name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return with_database(url, name)


def drop_database(url: str, name: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def database_exists(url: str, name: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def setup_django(url: str) -> None:
    """Django on the database at ``url``, with the portal's settings."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("SECRET_KEY", BENCH_SECRET_KEY)
    import django

    django.setup()


def orders_copy(rows: Iterable[tuple]) -> int:
    """``COPY`` rows of ``sellers.factories.order_rows`` into sellers_order on Django's
    connection, in the binary format (no text for the server to parse); the number of rows."""
    from django.db import connection

    from sellers.factories import ROW_COLUMNS

    count = 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = 'sellers_order'::regclass AND attnum > 0"
        )
        types = dict(cursor.fetchall())
        with cursor.cursor.copy(f"COPY sellers_order ({', '.join(ROW_COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([types[column] for column in ROW_COLUMNS])
            for row in rows:
                copy.write_row(row)
                count += 1
    return count
