"""The comparison table, its CSV, and the cost-versus-success plot."""

from __future__ import annotations

import csv
from pathlib import Path


def write_csv(rows: list[dict[str, float | str]], path: Path) -> None:
    """Write the summary rows as CSV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def pareto_front(rows: list[dict[str, float | str]]) -> list[str]:
    """Policies not dominated in (lower mean cost, higher success rate)."""
    front = []
    for a in rows:
        dominated = any(
            b is not a
            and float(b["cost_usd"]) <= float(a["cost_usd"])
            and float(b["success"]) >= float(a["success"])
            and (float(b["cost_usd"]) < float(a["cost_usd"]) or float(b["success"]) > float(a["success"]))
            for b in rows
        )
        if not dominated:
            front.append(str(a["policy"]))
    return front


def plot_cost_vs_success(rows: list[dict[str, float | str]], path: Path, title: str) -> None:
    """A PNG: one numbered point per policy (mean cost vs success rate, with 95% CIs), Pareto front joined.

    Policies are named in a numbered key beside the axes: names written next to their
    points overlapped where policies are close (most PPO runs are).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    front = set(pareto_front(rows))
    fig, ax = plt.subplots(figsize=(9.5, 5.5))
    for number, row in enumerate(rows, start=1):
        on_front = row["policy"] in front
        ax.errorbar(
            float(row["cost_usd"]), float(row["success"]), xerr=float(row["cost_usd_ci95"]), yerr=float(row["success_ci95"]),
            fmt="o" if on_front else "s", color="tab:red" if on_front else "tab:gray", capsize=3, markersize=4,
        )  # fmt: skip
        ax.annotate(
            str(number), (float(row["cost_usd"]), float(row["success"])), textcoords="offset points",
            xytext=(4, 4 if number % 2 else -10), fontsize=7,
        )  # fmt: skip
        ax.plot([], [], " ", label=f"{number}  {row['policy']}")
    points = sorted((float(r["cost_usd"]), float(r["success"])) for r in rows if r["policy"] in front)
    ax.plot([p[0] for p in points], [p[1] for p in points], "--", color="tab:red", label="Pareto front")
    ax.set_xscale("log")
    ax.set_xlabel("mean cost per workflow (USD, log scale)")
    ax.set_ylabel("success rate")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, handlelength=0.5)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
