"""Simulators: OCPP 1.6J charge points with scenarios and load reports, and the DC cabinet's PLCs and
their EVs on a python-can bus."""
