"""The DC cabinet over CAN: frames, bus, PLC drivers."""
