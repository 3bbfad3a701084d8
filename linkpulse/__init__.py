"""Code shared by the linkpulse web service and click worker."""

__version__ = "0.1.0"
