"""FFT convolution, time-varying FIR filters, sinc filters."""

__all__ = []
