"""Utilities and safe math: dict/nesting helpers, tf_float32, safe_log, ..."""

__all__ = []
