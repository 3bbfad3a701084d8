"""The compose stack on Docker Swarm: render the merged file for `docker stack deploy` (docs/scaling.md)."""
