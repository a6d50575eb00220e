# A Tornado app whose handler fails: Tornado logs the request and the traceback
# with its own LogFormatter (as Jupyter's servers do).
import asyncio
import json
import logging
import tornado.log
import tornado.web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

def load_order(raw):
    try:
        return json.loads(raw)
    except ValueError as e:
        raise RuntimeError("order payload is not JSON") from e

class Orders(tornado.web.RequestHandler):
    def post(self):
        self.write(load_order(self.request.body.decode()))

async def main():
    tornado.log.enable_pretty_logging()
    logging.getLogger().setLevel(logging.INFO)
    app = tornado.web.Application([(r"/orders", Orders)])
    server = app.listen(0, "127.0.0.1")
    port = list(server._sockets.values())[0].getsockname()[1]
    client = AsyncHTTPClient()
    for body in ("{\"id\": 1}", "{bad"):
        try:
            await client.fetch(f"http://127.0.0.1:{port}/orders", method="POST", body=body)
        except HTTPClientError:
            pass
    await client.fetch(f"http://127.0.0.1:{port}/missing", raise_error=False)

asyncio.run(main())
