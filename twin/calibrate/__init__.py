"""Calibration against measurements (read by twin.io): the trace sensor model, fitting the GPU and server
kernels, held-out errors, the calibration file and NVML recording."""
