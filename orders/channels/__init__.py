"""Channel sync: orders pulled from web stores and marketplaces, availability and fulfilment
pushed back (docs/CHANNELS.md).

`connectors/` speak each platform's wire format; `services/` run the pulls, the webhook intake
and the pushes; `consumers.py` is where the pushes subscribe to outbox events.
"""
