# Stand-in for prom/prometheus:v2.53.x: Debian trixie's prometheus 2.53 at /bin/prometheus, user
# nobody, storage in /prometheus, busybox wget for health checks (upstream is busybox-based).
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y prometheus busybox \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /bin/busybox /usr/local/bin/wget \
 && mkdir -p /prometheus /etc/prometheus \
 && chown nobody:nogroup /prometheus /etc/prometheus
USER nobody
EXPOSE 9090
VOLUME ["/prometheus"]
WORKDIR /prometheus
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
