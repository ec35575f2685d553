"""The daily run's cost against data size: portal and floor at three sizes, as a PNG.

    .venv/bin/python -m bench.chart                      # measure three sizes, then draw
    .venv/bin/python -m bench.chart --points var/bench/daily-sizes.json   # redraw only
    .venv/bin/python -m bench.chart --history run.log   # the history chart from a bench.run output

Each size is a fresh ``bench.run --only daily`` on its own database (bench_portal_chart),
so the portal and its floor are measured side by side in the same run. The points are kept
in var/bench/daily-sizes.json; the chart goes to docs/performance-daily.png.

``--history`` draws docs/performance-history.png instead, from the ``history_points`` of a
``bench.run`` output (step 6, bench.history_bench): each cost at 60, 180 and 365 days of
orders, as a multiple of its 60-day figure, time and blocks read, against the 1.2x target.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POINTS = ROOT / "var" / "bench" / "daily-sizes.json"
CHART = ROOT / "docs" / "performance-daily.png"
HISTORY_CHART = ROOT / "docs" / "performance-history.png"
# (sellers, generated orders): a tenth, a third and the whole of the full scale.
SIZES = ((1_000, 300_000), (3_300, 1_000_000), (10_000, 3_000_000))


def measure(sizes) -> list[dict]:
    points = []
    for sellers, orders in sizes:
        print(f"daily run at {sellers} sellers, {orders} orders ...", flush=True)
        output = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.run",
                "--scale",
                "full",
                "--only",
                "daily",
                "--sellers",
                str(sellers),
                "--orders",
                str(orders),
                "--database",
                "bench_portal_chart",
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        figures = json.loads(output.strip().splitlines()[-1])["bench"]
        points.append({k: figures[k] for k in ("sellers", "orders", "daily_s", "daily_floor_s", "daily_ratio")})
        print(f"  {points[-1]}", flush=True)
    return points


def draw(points: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    orders = [p["orders"] / 1e6 for p in points]
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
    ax.plot(orders, [p["daily_s"] for p in points], "o-", label="run_daily (portal)")
    ax.plot(orders, [p["daily_floor_s"] for p in points], "s--", label="one SQL query (floor)")
    for x, p in zip(orders, points, strict=True):
        ax.annotate(f"{p['daily_ratio']}x", (x, p["daily_s"]), textcoords="offset points", xytext=(4, 6), fontsize=8)
    ax.set_xlabel("orders in the database (millions); sellers grow with them")
    ax.set_ylabel("seconds")
    ax.set_title("Daily evaluation: time against data size")
    ax.set_ylim(0, max(p["daily_s"] for p in points) * 1.15)  # room for the top label
    ax.set_xlim(left=0)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    print(path)


def draw_history(figures: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # The 60-day point, then each point's figures over the 60-day ones measured in turn with it.
    points = [{**figures["history_points"][0]["recent"], "recent": figures["history_points"][0]["recent"]}]
    points += figures["history_points"]
    days = [p["days"] for p in points]
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
    costs = (("daily", "daily run, all sellers"), ("dashboard", "dashboard, uncached"), ("csv", "30-day defect CSV"))
    for (cost, label), colour in zip(costs, ("C0", "C1", "C2"), strict=True):
        times = [p[f"{cost}_s"] / p["recent"][f"{cost}_s"] for p in points]
        blocks = [p[f"{cost}_blocks"] / p["recent"][f"{cost}_blocks"] for p in points]
        ax.plot(days, times, "o-", color=colour, label=f"{label}: time")
        ax.plot(days, blocks, "s:", color=colour, label="blocks read")
    ax.axhline(1.2, color="red", linewidth=0.8, linestyle="--", label="target 1.2x")
    ax.set_xlabel(f"days of orders in the database ({points[0]['orders']:,} to {points[-1]['orders']:,} orders)")
    ax.set_ylabel("cost / cost with 60 days")
    ax.set_title(f"The same window, more history ({figures['scale']} scale, D = {figures['day']})", fontsize=10)
    ax.set_ylim(0, max(1.6, *(line.get_ydata().max() * 1.1 for line in ax.get_lines()[:-1])))
    ax.set_xticks(days)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=7, ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    print(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=Path, help="draw from these points instead of measuring")
    parser.add_argument("--out", type=Path, default=CHART)
    parser.add_argument(
        "--full-run",
        type=Path,
        help="the output of a full-scale bench.run: its daily figures are the largest point (not re-measured)",
    )
    parser.add_argument("--history", type=Path, help="draw the history chart from this bench.run output")
    args = parser.parse_args()
    if args.history:
        figures = json.loads(args.history.read_text().strip().splitlines()[-1])["bench"]
        draw_history(figures, HISTORY_CHART if args.out == CHART else args.out)
        return
    if args.points:
        points = json.loads(args.points.read_text())
    else:
        sizes = SIZES[:-1] if args.full_run else SIZES
        points = measure(sizes)
        if args.full_run:
            figures = json.loads(args.full_run.read_text().strip().splitlines()[-1])["bench"]
            points.append({k: figures[k] for k in ("sellers", "orders", "daily_s", "daily_floor_s", "daily_ratio")})
        POINTS.parent.mkdir(parents=True, exist_ok=True)
        POINTS.write_text(json.dumps(points, indent=1))
    draw(points, args.out)


if __name__ == "__main__":
    main()
