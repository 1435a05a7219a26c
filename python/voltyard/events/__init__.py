"""Domain events: `kinds` holds one frozen, slotted dataclass per event kind (the class name is the kind),
`bus` the in-process bus that records them in the store's event log and tells the subscribers.

`kinds` imports nothing of the store, so the store may build the events it writes inside a transaction;
`bus` sits above the store (it appends through the store's writer). Import either module by its own name:
this package re-exports nothing, so importing `kinds` never drags the bus (and the store) in.
"""
