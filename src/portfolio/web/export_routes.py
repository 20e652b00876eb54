"""``GET /export/download``: stream an export file, after every check has passed.

Query parameters are those of :func:`portfolio.services.exports.parse_export_request` (``group`` or ``site``, ``from``,
``to``, ``shape``, ``format``, ``fuel``). The anonymous guard in ``security.py`` already refuses signed-out
requests; this view checks access itself through :func:`portfolio.services.exports.plan_export`. A bad request answers
400 and a refused site or group 403, as JSON (or a short HTML page for a browser), before any byte of a file.
"""

from __future__ import annotations

from flask import Blueprint, Response, request, stream_with_context
from flask.typing import ResponseReturnValue
from markupsafe import escape

from portfolio.access import AccessDenied
from portfolio.services.exports import ExportError, parse_export_request, plan_export, stream_export

from .context import app_state, current_viewer, request_session
from .security import wants_html

blueprint = Blueprint("export", __name__)
DOWNLOAD_PATH = "/export/download"


def _refuse(message: str, status: int) -> ResponseReturnValue:
    if wants_html(request):
        page = (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Export not possible</title>'
            '<link rel="stylesheet" href="/assets/portfolio.css"></head><body><main class="content">'
            f'<h1>Export not possible</h1><p class="alert" role="alert">{escape(message)}</p>'
            '<p><a href="/export">Back to Export</a></p></main></body></html>'
        )
        return Response(page, status=status, mimetype="text/html")
    return {"error": message}, status


@blueprint.get(DOWNLOAD_PATH)
def download() -> ResponseReturnValue:
    """Plan under the viewer's access, audit the start, then stream; the response starts at once."""
    try:
        viewer = current_viewer()
        export_request = parse_export_request(request.args.to_dict(flat=False))
        plan = plan_export(request_session(), viewer, export_request, app_state().settings)
    except AccessDenied as error:
        return _refuse(str(error), 403)
    except ExportError as error:
        return _refuse(str(error), 400)
    request_session().close()  # release the connection now; the stream reads in its own session
    chunks = stream_export(
        app_state().session_factory,
        plan,
        user_id=viewer.user_id,
        ip=request.remote_addr,
        via="web",
    )
    response = Response(stream_with_context(chunks), content_type=plan.media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{plan.file_name}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # let nginx pass the stream through as it is made
    return response
