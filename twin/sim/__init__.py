"""The discrete-event layer: simpy events for control, numba kernels for the steps between them."""
