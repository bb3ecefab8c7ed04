"""Moved to engine.measure.explore; this name keeps existing imports working
(the same module object, so patches and isinstance checks see one module)."""

import sys

from .measure import explore as _moved

sys.modules[__name__] = _moved
