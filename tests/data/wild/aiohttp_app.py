"""An aiohttp server with logging.basicConfig: /orders fails with a chained error."""
import json
import logging

from aiohttp import web

logging.basicConfig(level=logging.INFO)


def load_order(raw):
    try:
        return json.loads(raw)
    except ValueError as e:
        raise LookupError("order payload unreadable") from e


async def index(request):
    return web.Response(text="ok\n")


async def orders(request):
    return web.json_response(load_order("{not json"))


app = web.Application()
app.add_routes([web.get("/", index), web.get("/orders", orders)])

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=8891)
