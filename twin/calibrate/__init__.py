"""Calibration against measurements: trace readers (traces.py) and fitting the GPU kernels (fit.py)."""
