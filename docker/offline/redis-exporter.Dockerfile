# Stand-in for oliver006/redis_exporter:v1.69.x-alpine: Debian trixie's redis exporter at
# /redis_exporter, user 59000:59000, busybox wget (the alpine variant's) for health checks.
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y prometheus-redis-exporter busybox \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /bin/busybox /usr/local/bin/wget \
 && ln -s /usr/bin/prometheus-redis-exporter /redis_exporter
USER 59000:59000
EXPOSE 9121
ENTRYPOINT ["/redis_exporter"]
