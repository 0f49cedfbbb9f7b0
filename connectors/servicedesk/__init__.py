"""The service-desk webhook connector (registry name ``servicedesk``).

Chat and call-centre systems post conversation events (case opened, message,
call started and ended, resolved, CSAT), signed with HMAC-SHA256
(``signature``); ``mapping`` turns them into ``omni.service.*`` records (both
pure) and ``server`` is the HTTP side. The JSON contract is
``event.schema.json`` beside this file.
"""

from connectors.servicedesk.server import ServiceDesk, create

__all__ = ["ServiceDesk", "create"]
