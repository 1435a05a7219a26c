"""The DC cabinet's power: its live state, the 100 ms planner tick and the site power manager."""
