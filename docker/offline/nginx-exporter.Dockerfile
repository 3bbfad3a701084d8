# Stand-in for nginx/nginx-prometheus-exporter:1.4.x: Debian trixie's exporter at the upstream
# path /usr/bin/nginx-prometheus-exporter, user 1001:1001, and, like the scratch upstream image,
# nothing else to run.
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y prometheus-nginx-exporter \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/bin/prometheus-nginx-exporter /usr/bin/nginx-prometheus-exporter
USER 1001:1001
EXPOSE 9113
ENTRYPOINT ["/usr/bin/nginx-prometheus-exporter"]
