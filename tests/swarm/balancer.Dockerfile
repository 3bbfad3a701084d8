# A cloud provider's load balancer in front of the swarm's nodes, for make test-swarm-nodes:
# Debian's HAProxy, with active health checks (its config is written by tests/swarm/nodes.py).
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y haproxy \
 && rm -rf /var/lib/apt/lists/*
STOPSIGNAL SIGUSR1
CMD ["haproxy", "-db", "-f", "/etc/haproxy/haproxy.cfg"]
