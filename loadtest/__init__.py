"""Locust load tests for linkpulse: realistic traffic, named shapes, SLO gates."""
