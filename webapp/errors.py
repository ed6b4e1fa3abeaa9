"""Errors as users should meet them: JSON with a status on /api/, a friendly page elsewhere.

Nothing a visitor types may produce a bare 500: parameter problems are 400s
with a message saying what to fix, unknown things are 404s, and an internal
failure is still logged and answered with a page in the site's own style.
"""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response

from indexer.backend import IndexUnavailable

from .params import BadRequest, SearchState

#: Vietnamese headings for the statuses a visitor may meet.
TITLES = {
    400: "Yêu cầu không hợp lệ",
    404: "Không tìm thấy trang",
    405: "Phương thức không được hỗ trợ",
    413: "Yêu cầu quá lớn",
    414: "Địa chỉ quá dài",
    431: "Yêu cầu quá lớn",
    500: "Đã có lỗi xảy ra",
    503: "Dịch vụ tạm thời chưa sẵn sàng",
}
#: Werkzeug's default descriptions are English; these replace them.
MESSAGES = {
    404: "Trang hoặc bài viết bạn tìm không tồn tại hoặc đã bị xoá.",
    405: "Địa chỉ này không hỗ trợ phương thức đó.",
    413: "Yêu cầu gửi lên quá lớn.",
    414: "Địa chỉ quá dài.",
    500: "Máy chủ gặp lỗi khi xử lý yêu cầu. Vui lòng thử lại sau.",
    503: "Chỉ mục tạm thời không truy cập được. Vui lòng thử lại sau ít phút.",
}


def wants_json() -> bool:
    """API URLs answer in JSON, whatever went wrong."""
    return request.path.startswith("/api/") or request.path == "/api"


def error_response(status: int, message: str) -> tuple[Response | str, int]:
    title = TITLES.get(status, "Lỗi")
    if wants_json():
        return jsonify({"error": {"status": status, "title": title, "message": message}}), status
    page = render_template("error.html", status=status, title=title, message=message,
                           state=SearchState())
    return page, status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(BadRequest)
    def bad_request(exc: BadRequest):  # type: ignore[no-untyped-def]
        return error_response(400, str(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        status = exc.code or 500
        if isinstance(exc, InternalServerError):
            return internal_error(exc)
        # Our own aborts carry a Vietnamese description; Werkzeug's defaults are English.
        custom = exc.description if exc.description != type(exc).description else None
        return error_response(status, custom or MESSAGES.get(status, exc.description or ""))

    @app.errorhandler(IndexUnavailable)
    def index_unavailable(exc: IndexUnavailable):  # type: ignore[no-untyped-def]
        app.logger.warning("index unavailable serving %s: %s", request.path, exc)
        return error_response(503, MESSAGES[503])

    @app.errorhandler(Exception)
    def internal_error(exc: Exception):  # type: ignore[no-untyped-def]
        original = getattr(exc, "original_exception", None) or exc
        app.logger.exception("error serving %s", request.path, exc_info=original)
        return error_response(500, MESSAGES[500])
