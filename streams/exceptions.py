"""Errors of the stream processors.

    OmniError                    root of every error the backbone raises on purpose
    └── StreamsError             the stream processors
        ├── UnsupportedEvent     a record the domain's rules do not handle (agent wiring bug)
        ├── InvalidIdentifier    an identity key or raw e-mail/phone that cannot be used
        ├── CorruptState         a table value the rules cannot read back
        ├── EmitFailed           Kafka did not acknowledge what a processor emitted
        ├── UnsupportedTable     a table the changelog writer cannot write (not raw bytes)
        └── RestoreFailed        the bulk restore could not read a changelog to its end

Business refusals (not enough stock, an order transition that is not allowed,
an unknown merge id) are *not* errors: rules return an explicit ``Rejected``
value for them, because a refused event is a normal, expected outcome that the
agent records and moves past. Errors here mean the code or the data is wrong.
"""

from __future__ import annotations

from schemas.exceptions import OmniError


class StreamsError(OmniError):
    """Root of the stream processors' errors."""


class UnsupportedEvent(StreamsError):
    """The rules of a domain were handed a record type they do not fold."""


class InvalidIdentifier(StreamsError, ValueError):
    """An identity key is not ``<kind>:<value>`` or a raw identifier is empty."""


class CorruptState(StreamsError):
    """A stored state dict is missing fields or has the wrong shape."""


class EmitFailed(StreamsError):
    """An emitted view, command or dead letter was not acknowledged by Kafka.

    The run that emitted it must not write its state: the agent stops, and
    the run is applied again (with the same emissions) after a restart.
    """


class UnsupportedTable(StreamsError):
    """A table written through :mod:`streams.changelog` that it cannot write as Faust would.

    Its records would not read back as the table's own (a serializer other
    than raw bytes), or no event is current to say the partition: a wiring
    bug, raised before anything is written.
    """


class RestoreFailed(StreamsError):
    """The bulk restore (:mod:`streams.restore`) could not bring a table to its changelog's end.

    The worker does not start: Faust would restore the rest record by record,
    but a changelog that cannot be read is a broken cluster, not slowness.
    """
