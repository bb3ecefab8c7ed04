"""owb's headless engine: workspace, import, inference, calibration, reports.

It never imports textual; importing ``engine`` itself is cheap, and heavy
libraries (openvino, nncf) are imported by the modules that need them."""

__all__ = ["__version__"]
__version__ = "0.1.0"

from .telemetry import opt_out as _opt_out_of_telemetry  # noqa: E402

_opt_out_of_telemetry()
