"""Plots for the reports, drawn with matplotlib and returned as inline SVG text (no files, no scripts)."""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams["svg.fonttype"] = "none"  # text stays text: searchable, small
plt.rcParams["svg.hashsalt"] = "newsrag"  # the same data gives the same SVG


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prologue and doctype: the SVG is inlined in HTML


def bars_svg(labels: list[str], values: list[float], colours: list[str], title: str, vmax: float | None = None) -> str:
    """Vertical bars, one per label (40 questions -> a plot about 9 inches wide)."""
    fig, ax = plt.subplots(figsize=(max(4.0, 0.22 * len(values) + 1), 2.6))
    ax.bar(range(len(values)), values, color=colours)
    ax.set_xticks(range(len(values)), [lab[-8:] for lab in labels], rotation=60, ha="right", fontsize=7)
    ax.set_ylim(0, vmax or max(values + [1e-9]) * 1.05)
    ax.set_title(title, fontsize=10, loc="left")
    return _svg(fig)


def histogram_svg(values: list[float], title: str, bins: int = 12) -> str:
    """A histogram of ``values`` ("" for none)."""
    if not values:
        return ""
    fig, ax = plt.subplots(figsize=(5, 2.4))
    ax.hist(values, bins=bins, color="#1565c0")
    ax.set_xlabel("seconds", fontsize=8)
    ax.set_title(title, fontsize=10, loc="left")
    return _svg(fig)


def split_svg(split: dict[str, float], title: str) -> str:
    """One stacked horizontal bar: the share of the time spent in each stage."""
    total = sum(split.values()) or 1.0
    colours = {"retrieval": "#6a1b9a", "prompt": "#1565c0", "generation": "#2e7d32", "check": "#ef6c00"}
    fig, ax = plt.subplots(figsize=(7, 0.9))
    left = 0.0
    for k, v in split.items():
        share = 100 * v / total
        ax.barh(0, share, left=left, height=0.5, color=colours.get(k, "#555"), label=f"{k} {share:.1f}%")
        left += share
    ax.set_xlim(0, 100)
    ax.set_yticks([])
    ax.legend(ncol=4, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.35), frameon=False)
    ax.set_title(title, fontsize=10, loc="left")
    return _svg(fig)


def latency_svg(rows: list[dict], series: dict[str, str], title: str) -> str:
    """Log-log lines of p50 latency (ms) against collection size; ``series`` maps a row key to its label."""
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    xs = [r["vectors"] for r in rows]
    for key, label in series.items():
        ys = [max(1e-3, r[key]) for r in rows]
        ax.plot(xs, ys, marker="o", label=label)
        for x, y in zip(xs, ys):
            ax.annotate(f"{y:.2f}", (x, y), fontsize=7, textcoords="offset points", xytext=(0, 4))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("vectors", fontsize=8)
    ax.set_ylabel("p50 ms", fontsize=8)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10, loc="left")
    return _svg(fig)
