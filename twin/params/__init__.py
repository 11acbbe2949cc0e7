"""Kernel parameters from the catalog and from calibration files, and the ranges they may take."""
