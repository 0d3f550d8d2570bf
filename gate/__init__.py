"""tsrgate: a release gate for 2D traffic-sign detectors."""

__version__ = "0.1.0"
