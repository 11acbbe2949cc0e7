"""Pure physics kernels: arrays and parameters in, arrays out; SI units; each model cites its source.

Nothing here imports the rest of the package, simpy, or does I/O (docs/architecture.md#layers).
"""
