"""The OCPP-J websocket gateway: picows server, handshake checks, one connection object per charger."""
