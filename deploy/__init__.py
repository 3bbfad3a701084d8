"""linkpulse's delivery tool: release images by git sha, provision a VM, deploy with zero downtime.

`python -m deploy --help` lists the verbs; docs/deploy.md walks through them. Every verb reads one
TOML configuration file (deploy/example.toml documents each key) and prints each stage with its
duration. The VM side needs only sshd, a shell and a Docker engine with compose v2.
"""
