"""Feeding images to a model: the streamed pool (stream) and the decode cache (cache)."""

from .cache import DecodeCache
from .stream import ImageFeed, decode_workers

__all__ = ["DecodeCache", "ImageFeed", "decode_workers"]
