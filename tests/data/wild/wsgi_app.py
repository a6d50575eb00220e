"""A WSGI app for gunicorn: /orders fails with a chained error, /slow hangs past
the worker timeout, / answers."""
import json
import time


def load_order(raw):
    try:
        return json.loads(raw)
    except ValueError as e:
        raise LookupError("order payload unreadable") from e


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/orders":
        load_order("{not json")
    if path == "/slow":
        time.sleep(30)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]
