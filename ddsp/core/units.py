"""Unit conversions (dB, MIDI, Hz, mel, bark, erb) and scale functions."""

__all__ = []
