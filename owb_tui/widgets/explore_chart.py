"""The Explore chart: throughput over median latency, one point per measured
(batch, streams) cell, the sweet spot marked, as DL Workbench drew it.

The Explore pane imports this module only once it has a sweep to show:
plotext costs ~40 ms, which opening a project page should not pay."""

from __future__ import annotations

from typing import Any

from textual_plotext import PlotextPlot


def padded(values: list[float], low: float, high: float) -> tuple[float, float]:
    """Axis limits around ``values`` with room for markers and their labels."""
    lo, hi = min(values), max(values)
    span = hi - lo or abs(hi) * 0.2 or 1.0
    return max(lo - span * low, 0.0), hi + span * high


def plot_explore(plt: Any, result: dict) -> None:
    """Draw one sweep (engine.explore's result) on a plotext figure: ``o`` a
    measured cell labelled batch·streams, ``*`` the sweet spot, and a red line
    at the latency limit when one was given."""
    cells = [c for c in result["cells"] if c["measured"]]
    plt.clear_figure()
    if not cells:
        return
    best = result.get("sweet_spot")
    limit = result.get("latency_limit_ms")
    xs = [c["latency_ms"]["median"] for c in cells]
    ys = [c["throughput_fps"] for c in cells]
    left, right = padded(xs + ([limit] if limit is not None else []), 0.1, 0.3)  # labels run to the right
    shift = (right - left) * 0.03  # a label starts a little right of its marker, never on it
    for c, x, y in zip(cells, xs, ys):
        plt.text(f"{c['batch']}·{c['requested_streams']}", x + shift, y, alignment="left", background="default")
    plt.scatter(xs, ys, marker="o", color="cyan")
    if best is not None:
        plt.scatter([best["latency_ms"]["median"]], [best["throughput_fps"]], marker="*", color="green")
    if limit is not None:
        plt.vline(limit, color="red")
    plt.xlim(left, right)
    plt.ylim(*padded(ys, 0.15, 0.15))
    plt.xlabel("median latency, ms")
    plt.ylabel("FPS")


class ExploreChart(PlotextPlot):
    DEFAULT_CSS = "ExploreChart { height: 14; }"

    def show(self, result: dict) -> None:
        plot_explore(self.plt, result)
        self.refresh()
