"""Which images this machine runs: the upstream ones (pinned by digest in
docker/upstream-images.env) where a registry answers, local stand-ins where none does.

Standard library only: scripts/stack-env.sh runs it with the host's python3, before any venv.
"""
