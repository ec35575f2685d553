"""A realistic order import file (SPEC section 6) for benchmarks: valid rows only, deterministic.

    .venv/bin/python -m bench.orders_csv --rows 1000000 --sellers 100 --out var/bench/orders.csv

Orders over the 60 days ending 2026-11-20, in purchase order, spread over the sellers by a
power law (a few large sellers, many small ones) in several time zones. Most orders ship and
arrive on time; some ship late, arrive late, are not delivered yet, or are cancelled by the
customer (within 30 minutes) or the seller (some at the customer's request). Timestamps are
written in the seller's local offset, some in UTC with Z, as marketplace exports do.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

COLUMNS = (
    "order_id",
    "merchant_token",
    "purchased_at",
    "units",
    "promised_ship_date",
    "promised_delivery_date",
    "first_scan_at",
    "ship_confirmed_at",
    "delivered_at",
    "buy_shipping",
    "carrier",
    "tracking_id",
    "ship_to_state",
    "cancelled_at",
    "cancelled_by",
    "cancel_requested_at",
)
ZONES = ("America/Los_Angeles", "America/New_York", "America/Chicago", "America/Denver", "Europe/Berlin")
LAST_DAY = dt.date(2026, 11, 20)
DAYS = 60
CARRIERS = (("UPS Ground", "1Z"), ("USPS Priority", "9400"), ("FedEx Home", "FX"))
STATES = ("CA", "TX", "NY", "FL", "IL", "PA", "OH", "GA", "NC", "MI", "WA", "AZ", "MA", "NJ", "VA", "CO", "PR")


def file_name(*, rows: int, sellers: int, seed: int) -> str:
    """The name a generated file is kept under in var/bench/; it changes with what the
    generator writes, so a file kept from an older generator is never reused."""
    return f"orders-{rows}-{sellers}-{seed}-v3.csv"


def seller_token(index: int) -> str:
    return f"BENCHIMP{index:06d}"


def seller_zone(index: int) -> str:
    return ZONES[index % len(ZONES)]


def write_orders_csv(path: Path, *, rows: int, sellers: int, seed: int = 42) -> Path:
    """Write ``rows`` valid orders of sellers 1..``sellers`` (see ``seller_token``) to ``path``,
    each built as every order is (``sellers.factories.order_values``)."""
    from sellers.choices import CancelledBy
    from sellers.factories import order_values

    rng = random.Random(seed)
    zones = [ZoneInfo(seller_zone(i)) for i in range(sellers + 1)]
    start = dt.datetime.combine(LAST_DAY - dt.timedelta(days=DAYS - 1), dt.time(8), tzinfo=dt.UTC)
    step = dt.timedelta(days=DAYS) / max(rows, 1)
    hour, minute = dt.timedelta(hours=1), dt.timedelta(minutes=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for n in range(rows):
            seller = max(1, min(sellers, int(sellers * rng.random() ** 3) + 1))
            tz = zones[seller]
            purchased_at = start + step * n + rng.random() * step
            local_purchase = purchased_at.astimezone(tz)
            # Orders after the day's 14:00 cutoff are promised to ship the next day.
            ship_date = local_purchase.date() + dt.timedelta(days=1 if local_purchase.hour >= 14 else 0)
            carrier, prefix = CARRIERS[n % len(CARRIERS)]
            shape = {
                "promised_ship_date": ship_date,
                "promised_delivery_date": ship_date + dt.timedelta(days=rng.choice((1, 2, 2))),
                "units": 1 + (rng.random() < 0.2) + (rng.random() < 0.05),
                "carrier": carrier,
                "tracking_id": f"{prefix}{n:016d}",
                "ship_to_state": STATES[n % len(STATES)],
                "outside_buy_shipping": rng.random() >= 0.985,
            }
            fate = rng.random()
            if fate < 0.006:  # the customer cancels within 30 minutes
                shape.update(cancelled=CancelledBy.CUSTOMER, cancelled_after=rng.uniform(1, 29) * minute)
            elif fate < 0.012:  # the seller cancels, half of the time because the customer asked
                shape.update(cancelled=CancelledBy.SELLER, cancelled_after=rng.uniform(1, 20) * hour)
                if rng.random() < 0.5:
                    shape["requested_before"] = rng.uniform(0.1, 1) * hour
            else:  # some ship late, arrive late, are not delivered yet (or lost), lack a tracking id
                shape.update(
                    late_shipment=rng.random() < 0.015,
                    late_delivery=2 if rng.random() < 0.02 else 0,
                    not_delivered=rng.random() >= 0.97,
                    no_tracking=rng.random() < 0.005,
                )
            order = order_values(tz, purchased_at, **shape)
            # Some systems export UTC.
            stamp = _utc_stamp if n % 5 == 0 else partial(_local_stamp, tz=tz)
            writer.writerow(
                (
                    f"{110 + seller % 900:03d}-{n:07d}-{rng.randrange(10**7):07d}",
                    seller_token(seller),
                    *(_cell(order[column], stamp) for column in COLUMNS[2:]),
                )
            )
    return path


def _cell(value: object, stamp) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or isinstance(value, dt.datetime):
        return stamp(value)
    return value


def _utc_stamp(moment: dt.datetime | None) -> str:
    return "" if moment is None else moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _local_stamp(moment: dt.datetime | None, tz: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(tz).isoformat(timespec="seconds")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--sellers", type=int, default=100)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path("var/bench/orders.csv"))
    args = parser.parse_args()
    write_orders_csv(args.out, rows=args.rows, sellers=args.sellers, seed=args.seed)
    print(args.out)


if __name__ == "__main__":
    main()
