"""Code shared by the linkpulse web service and click worker."""
