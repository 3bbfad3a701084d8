# Stand-in for python:3.13-slim-trixie: Debian trixie's Python 3.13 (same cp313 ABI, so the same
# wheelhouse serves both) with the interpreter reachable at the upstream paths.
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y python3 python3-venv netbase tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/bin/python3 /usr/local/bin/python3 \
 && ln -s /usr/bin/python3 /usr/local/bin/python
ENV LANG=C.UTF-8
CMD ["python3"]
