"""Inference precision: accuracy runs in true f32, speed in what a deployment
gets, and owb says which one ran (engine.precision)."""

from __future__ import annotations

import numpy as np
import pytest

import model_builders as mb
from conftest import owb_json
from engine import precision
from engine.errors import BadInput

BF16 = pytest.mark.skipif(not precision.has_bf16(),
                          reason="this CPU has no BF16 support (no AVX-512 BF16 / AMX): "
                                 "OpenVINO cannot run bf16 here, so there is no difference to show")


def test_properties_pin_only_an_explicit_precision():
    assert precision.properties("auto") == {}
    assert precision.properties("f32") == {"INFERENCE_PRECISION_HINT": "f32"}
    with pytest.raises(BadInput, match="inference precision"):
        precision.properties("int4")


def test_f32_is_exact_wherever_the_cpu_runs(tmp_path):
    """The accuracy path (engine.precision.ACCURACY) reproduces numpy's f32 maths."""
    xml = mb.build_ir(tmp_path)
    compiled = precision.compile_model(str(xml))
    assert precision.resolved("CPU", "f32") == "f32"
    for seed in range(3):
        x = mb.random_image(seed=seed)
        assert np.allclose(compiled(x)[0], mb.reference(x), rtol=1e-4, atol=1e-5)


@BF16
def test_bf16_differs_from_f32_and_owb_says_which_ran(tmp_path):
    """On a CPU with BF16, the same model in bf16 drifts from the f32 reference
    by more than f32's rounding, and owb's benchmark names the precision that
    ran: auto resolves to bf16, --infer-precision f32 runs f32."""
    xml = mb.build_ir(tmp_path)
    x = mb.random_image(seed=4)
    want = mb.reference(x)
    f32 = precision.compile_model(str(xml), precision="f32")(x)[0]
    bf16 = precision.compile_model(str(xml), precision="bf16")(x)[0]
    assert np.allclose(f32, want, rtol=1e-4, atol=1e-5)
    drift = float(np.abs(bf16 - want).max())
    assert drift > 1e-3, "bf16 rounding should show on a 27-tap convolution"
    assert drift < 0.1 * float(np.abs(want).max()) + 0.05  # but it is still the same model

    home = tmp_path / "ws"
    owb_json("model", "import", str(xml), "--name", "tiny", home=home)
    runs = {p: owb_json("benchmark", "tiny", "--time", "0.3", "--infer-precision", p, home=home)
            for p in ("auto", "f32", "bf16")}
    assert runs["f32"]["inference_precision"] == "f32"
    assert runs["bf16"]["inference_precision"] == "bf16"
    assert runs["auto"]["inference_precision"] == precision.resolved("CPU", "auto") == "bf16"
    assert runs["f32"]["requested_precision"] == "f32" and runs["auto"]["requested_precision"] == "auto"


@BF16
def test_accuracy_outputs_are_f32_even_where_the_default_is_bf16(tmp_path):
    """engine.inference compiles for accuracy in f32, not in the plugin's default."""
    from engine.inference import compile_model

    xml = mb.build_ir(tmp_path)
    compiled = compile_model(str(xml))
    from engine.device import precision_name

    assert precision_name(compiled.get_property("INFERENCE_PRECISION_HINT")) == "f32"
    x = mb.random_image(seed=5)
    assert np.allclose(compiled(x)[0], mb.reference(x), rtol=1e-4, atol=1e-5)
