"""Hostile checks: frames and conditions a probe used against a real appliance (issue 17), kept green."""
