"""The CLI and inference helpers the model-import tests share: owb run in
this process (argparse's exit caught), its --json document, and a model's
f32 output for an input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openvino as ov

from engine.precision import compile_model as compile_f32  # accuracy runs in f32 (engine.precision)
from owb_tui.cli import main

CORE = ov.Core()


def run_cli(*argv: str) -> int:
    try:
        return main(list(argv))
    except SystemExit as exc:  # argparse errors leave through SystemExit
        return int(exc.code)


def cli_json(capsys, *argv: str) -> dict | list:
    capsys.readouterr()
    rc = run_cli(*argv, "--json")
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)


def infer(model_or_path, x: np.ndarray) -> np.ndarray:
    model = CORE.read_model(str(model_or_path)) if isinstance(model_or_path, (str, Path)) else model_or_path
    return compile_f32(model)(x)[0]
