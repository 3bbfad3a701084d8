# Stand-in for prom/node-exporter:v1.9.x: Debian trixie's node exporter at /bin/node_exporter,
# user nobody, busybox wget for health checks.
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y prometheus-node-exporter busybox \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /bin/busybox /usr/local/bin/wget \
 && ln -s /usr/bin/prometheus-node-exporter /usr/bin/node_exporter
USER nobody
EXPOSE 9100
ENTRYPOINT ["/bin/node_exporter"]
