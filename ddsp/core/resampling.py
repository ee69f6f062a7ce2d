"""Resampling between frame rate and audio rate."""

__all__ = []
