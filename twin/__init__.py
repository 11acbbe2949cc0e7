"""twin: a digital twin of AI data centers that forecasts SAIQ per token."""

__version__ = "0.2.0"
