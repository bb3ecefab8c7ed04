"""YOLOX's raw detection head: a [K, 5+C] grid of rows over the strides
8/16/32, whose box centres and sizes are offsets in grid cells. Decoded here
into input pixels, and told apart from other heads by its row count."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .errors import BadInput


def yolox_grid_decode(rows: np.ndarray, strides: Sequence[int], in_h: int, in_w: int) -> np.ndarray:
    """YOLOX's raw head [K, 5+C] -> cx, cy, w, h in input pixels (objectness and
    class scores are sigmoids already). K covers the grids of every stride, finest first."""
    grids, steps = [], []
    for stride in strides:
        h, w = in_h // stride, in_w // stride
        xv, yv = np.meshgrid(np.arange(w), np.arange(h))
        grids.append(np.stack((xv, yv), 2).reshape(-1, 2))
        steps.append(np.full((h * w, 1), stride, np.float32))
    grid, step = np.concatenate(grids).astype(np.float32), np.concatenate(steps)
    if grid.shape[0] != rows.shape[0]:
        raise BadInput(f"a YOLOX head over strides {list(strides)} at {in_w}x{in_h} has {grid.shape[0]} rows; "
                       f"this output has {rows.shape[0]}")
    out = rows.astype(np.float32, copy=True)
    out[:, :2] = (out[:, :2] + grid) * step
    out[:, 2:4] = np.exp(np.minimum(out[:, 2:4], 60.0)) * step  # clamped: exp of a garbage row must not overflow
    return out


YOLOX_STRIDES = (8, 16, 32)


def grid_rows(in_h: int, in_w: int, strides: Sequence[int] = YOLOX_STRIDES) -> int:
    return sum((in_h // s) * (in_w // s) for s in strides)
