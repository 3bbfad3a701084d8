# The rehearsal's stand-in for a fresh Debian VM: sshd, Debian's Docker engine (the package a
# real VM gets from `deploy provision` via scripts/docker-engine.sh; preinstalled here only to
# save the rehearsal 15 s), python3 (docker-engine.sh unpacks the compose wheel with it), curl.
# It runs as a container on the host's engine with its own engine and image store inside
# (docs/deploy.md lists the flags that make that work here).
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y openssh-server docker.io docker-cli iptables python3 curl socat procps \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /run/sshd \
 && sed -i 's/^#\?PasswordAuthentication .*/PasswordAuthentication no/' /etc/ssh/sshd_config \
 && ssh-keygen -A
COPY vm-init.sh /usr/local/sbin/vm-init
CMD ["/usr/local/sbin/vm-init"]
