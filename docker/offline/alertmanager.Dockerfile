# Stand-in for prom/alertmanager:v0.28.x: Debian trixie's alertmanager 0.28 at /bin/alertmanager
# and /bin/amtool, user nobody, storage in /alertmanager, busybox wget for health checks.
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y prometheus-alertmanager busybox \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /bin/busybox /usr/local/bin/wget \
 && ln -sf /usr/bin/prometheus-alertmanager /usr/bin/alertmanager \
 && { [ -e /usr/bin/amtool ] || ln -s /usr/bin/prometheus-alertmanager-amtool /usr/bin/amtool; } \
 && mkdir -p /alertmanager /etc/alertmanager \
 && chown nobody:nogroup /alertmanager /etc/alertmanager
USER nobody
EXPOSE 9093
VOLUME ["/alertmanager"]
WORKDIR /alertmanager
ENTRYPOINT ["/bin/alertmanager"]
CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]
