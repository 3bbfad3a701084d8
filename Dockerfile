# The linkpulse application image, shared by web and worker (they differ only in command).
#
# Hermetic: Python packages come only from build/wheels/ (`make wheels` downloads them, hash-checked,
# from requirements/runtime.lock for this image's Python, cp313 on manylinux x86_64 and aarch64:
# the same context builds linux/amd64 and linux/arm64); the build itself needs no network.
# No `# syntax=` line on purpose: fetching a frontend image would need a registry, and the
# builder's built-in Dockerfile frontend is enough.

# The base, pinned by digest in docker/upstream-images.env; compose passes it. Upstream's image
# is multi-platform; without a registry, `make test-arm64` names a local arm64 stand-in here (an
# engine's image store keeps one platform per name).
ARG PYTHON_IMAGE
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
COPY requirements/runtime.lock /tmp/runtime.lock
COPY build/wheels/ /tmp/wheels/
RUN /opt/venv/bin/pip install --no-index --find-links /tmp/wheels --only-binary=:all: \
        --require-hashes -r /tmp/runtime.lock \
 && /opt/venv/bin/pip uninstall --yes pip

COPY linkpulse/ /app/linkpulse/
COPY web/ /app/web/
COPY worker/ /app/worker/
# The runtime filesystem is read-only: byte-compile now so imports never try to write.
RUN python -m compileall -q /app


FROM ${PYTHON_IMAGE} AS runtime

RUN groupadd --system --gid 10001 linkpulse \
 && useradd --system --uid 10001 --gid linkpulse --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin linkpulse
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HEALTHCHECK_URL=http://127.0.0.1:8000/readyz
WORKDIR /app
USER 10001:10001
EXPOSE 8000 9101

# Only the interpreter is needed to check health; the worker sets HEALTHCHECK_URL to its
# metrics port. Python as PID 1 ignores SIGTERM: run it under an init (compose: init: true).
HEALTHCHECK --interval=3s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['HEALTHCHECK_URL'], timeout=2)"]
CMD ["gunicorn", "-c", "web/gunicorn_conf.py", "web:create_app()"]

# Build information last, so a new commit only rebuilds these metadata layers.
ARG VERSION=0.0.0
ARG REVISION=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.title="linkpulse" \
      org.opencontainers.image.description="linkpulse web (gunicorn) and worker (python -m worker)" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT"
ENV APP_VERSION=${VERSION} \
    GIT_REVISION=${REVISION}
