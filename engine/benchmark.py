"""Moved to engine.measure.benchmark; this name keeps existing imports working
(the same module object, so patches and isinstance checks see one module)."""

import sys

from .measure import benchmark as _moved

sys.modules[__name__] = _moved
