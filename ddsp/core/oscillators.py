"""Oscillators: sinusoid banks, harmonic synthesis, wavetables, delays."""

__all__ = []
