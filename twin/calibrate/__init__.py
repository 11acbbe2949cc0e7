"""Calibration against measurements: trace readers (traces.py)."""
