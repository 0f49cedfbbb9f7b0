"""``GET /v1/cases/{case_id}``: a case's summary, status, time to resolution and CSAT.

Relayed to the worker that owns the case's partition (:func:`streams.web.routed`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from streams import rocks
from streams.cases import model, tables
from streams.web import bad_id, error, json_response, routed, valid_id

if TYPE_CHECKING:
    import faust

    from streams.cases.agents import CasesProcessor


def install(app: faust.App, processor: CasesProcessor) -> None:
    table = processor.table

    @app.page("/v1/cases/{case_id}")
    async def case_by_id(web: Any, request: Any, case_id: str) -> Any:
        if not valid_id(case_id):
            return bad_id(web, "case_id", case_id)

        async def local() -> Any:
            data = rocks.read(table, case_id.encode())
            case = tables.decode(data).case if data is not None else None
            if case is None:
                return error(web, 404, f"no case known with id {case_id!r}")
            body = {
                **model.summary(case),
                "priority": case.priority,
                "time_to_resolution_s": case.time_to_resolution_s,
                "csat": case.csat_score,
                "messages": case.messages,
                "calls": case.calls,
                "version": case.version,
            }
            return json_response(web, body)

        return await routed(app, web, table.name, case_id, request.path, local)
