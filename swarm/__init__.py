"""The compose stack on Docker Swarm: the stack file for `docker stack deploy` (docs/scaling.md)."""
