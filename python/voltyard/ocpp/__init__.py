"""OCPP 1.6J: the frame codec's Python face and, with later issues, the action handlers."""
