"""MAX_CONTENT_LENGTH for bodies sent without a Content-Length (Transfer-Encoding: chunked).

Werkzeug refuses a body whose Content-Length is over MAX_CONTENT_LENGTH with 413, but a streamed
body (gunicorn sets ``wsgi.input_terminated`` for a chunked one) is only read up to the limit: a form
larger than the limit would be cut there and its first part saved as if it were all. This middleware
reads such a body up to one byte past the limit and hands the app a body with a Content-Length, so
that the one check werkzeug makes of Content-Length answers 413 (the app's error page) for both.
"""

import io

from werkzeug.wsgi import get_content_length


class StreamedBodyLimit:
    """WSGI middleware giving a streamed request body a Content-Length (the limit + 1 when too large)."""

    def __init__(self, wsgi_app, config):
        self.wsgi_app, self.config = wsgi_app, config

    def __call__(self, environ, start_response):
        limit = self.config.get("MAX_CONTENT_LENGTH")
        # No length werkzeug would use (none sent, or chunked, which overrides one), a stream the server ends.
        if limit is not None and get_content_length(environ) is None and environ.get("wsgi.input_terminated"):
            body = environ["wsgi.input"].read(limit + 1)  # at most one byte more than may be read
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("HTTP_TRANSFER_ENCODING", None)  # the body is whole now, its length known
            environ.pop("wsgi.input_terminated", None)
        return self.wsgi_app(environ, start_response)
