"""The request class: JSON that cannot be parsed is a 400, however it fails."""

from __future__ import annotations

from flask import Request
from werkzeug.exceptions import BadRequest


class IdPRequest(Request):
    # Bodies are small JSON documents and forms; a larger body is refused with 413.
    max_content_length = 1024 * 1024

    def on_json_loading_failed(self, e):
        raise BadRequest("The request body is not valid JSON.")

    def get_json(self, force=False, silent=False, cache=True):
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            # Deeply nested JSON exhausts the parser's stack: treat it as malformed.
            if silent:
                return None
            raise BadRequest("The request body is not valid JSON.") from None
