"""Errors of the event contract.

    OmniError                      root of every error the backbone raises on purpose
    └── ContractError              the contract package (schemas, catalogue, codec)
        ├── SchemaError            an .avsc file is missing, unparsable or inconsistent
        ├── CompatibilityError     a schema change breaks the compatibility policy
        ├── CatalogueError         an unknown topic or a record the topic does not carry
        ├── RegistryError          the schema registry refused or could not be reached
        ├── TopicAdminError        Kafka refused to create or alter a topic
        └── DecodeError            bytes that are not a valid event of ours
            ├── BadMagicByte       not Confluent wire format (first byte is not 0)
            ├── TruncatedMessage   shorter than the header, or the Avro body ends early
            └── UnknownSchemaId    the registry does not know the writer schema id

Every other package roots its own small tree at ``OmniError`` so the CLI can
turn any of them into a one-line message.
"""

from __future__ import annotations


class OmniError(Exception):
    """Root of the backbone's own errors."""


class ContractError(OmniError):
    """Root of the contract package's errors."""


class SchemaError(ContractError):
    """An Avro schema file is missing, unparsable or refers to an unknown type."""


class CompatibilityError(ContractError):
    """A schema change is not compatible with the versions already published."""


class CatalogueError(ContractError):
    """A topic or record that the topic catalogue does not declare."""


class RegistryError(ContractError):
    """The schema registry answered with an error or could not be reached."""


class DecodeError(ContractError):
    """Bytes that cannot be decoded as one of our events."""

    reason = "decode_error"


class BadMagicByte(DecodeError):
    """The record does not start with the Confluent wire-format magic byte 0."""

    reason = "bad_magic_byte"


class TruncatedMessage(DecodeError):
    """The record is shorter than the 5-byte header or its Avro body ends early."""

    reason = "truncated"


class UnknownSchemaId(DecodeError):
    """The writer schema id is not known to the registry."""

    reason = "unknown_schema_id"


class TopicAdminError(ContractError):
    """Kafka refused to create or change a topic, or could not be reached."""
