"""The uplink: the appliance as a local controller of an operator's central system (docs/uplink.md).

One outbound OCPP 1.6J connection per local charge point (each charger, and the cabinet's charge point),
under the charge point's own identity. What the central system must know (boots, status, transactions and
their meter values) is learnt from the event bus and the store, queued in the store in order and replayed
when the link returns; the central system's commands go down through the command service. Nothing local
ever waits on the uplink.

Layer: an edge, beside gateway/ and api/ (it uses ocpp/, power/, domain/, events/ and the store).
"""
