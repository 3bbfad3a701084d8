"""The local rehearsal of the delivery pipeline (`make rehearse`, docs/deploy.md).

What GitHub and the VM would be, stood up on this machine: a registry (Debian's docker-registry)
and a VM stand-in with its own Docker engine and sshd, both containers on the host's engine, on a
network of their own. The real deploy tool then releases, provisions, deploys and rolls back
against them while a load loop sends traffic through the VM's public port.

It lives beside deploy/, not inside it: people who install the deploy tool do not need it.
"""
