"""The embedded broker: kombu's SQLAlchemy transport on a SQLite file, polled often enough."""

from __future__ import annotations

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport.sqlalchemy import Transport as SQLAlchemyTransport

# The URL scheme that selects it: "oms-sqlite+sqlite:///path/to/broker.sqlite3".
ALIAS = "oms-sqlite"


class Transport(SQLAlchemyTransport):
    # kombu polls an empty queue, and a worker whose prefetch slots are full, once a second by
    # default: that caps a worker at about two tasks a second. Its transport options all go to
    # SQLAlchemy's create_engine, so the interval can only be set here.
    polling_interval = 0.1


TRANSPORT_ALIASES.setdefault(ALIAS, f"{__name__}:Transport")
