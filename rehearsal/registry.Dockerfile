# The rehearsal's registry: Debian's docker-registry (distribution 2.8) with htpasswd logins.
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y docker-registry \
 && rm -rf /var/lib/apt/lists/*
COPY registry.yml /etc/docker/registry/config.yml
EXPOSE 5000
CMD ["/usr/bin/docker-registry", "serve", "/etc/docker/registry/config.yml"]
