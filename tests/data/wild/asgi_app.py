"""An ASGI app for uvicorn: /orders fails with a chained error, / answers."""
import json


def load_order(raw):
    try:
        return json.loads(raw)
    except ValueError as e:
        raise LookupError("order payload unreadable") from e


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/orders":
        load_order("{not json")
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok\n"})
