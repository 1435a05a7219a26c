"""Simulators: the DC cabinet's PLCs and their EVs on a python-can bus."""
