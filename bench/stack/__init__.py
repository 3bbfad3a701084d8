"""`make bench-stack`: the container stack's redirect capacity, latency and worker drain."""
