# asyncio's report of a protocol whose data_received raised: its message, the
# protocol and transport lines, then the traceback (python3 asyncio_fatal_app.py).
import asyncio
class P(asyncio.Protocol):
    def data_received(self, data):
        raise ValueError("bad frame")
async def main():
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(P, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"x")
    await w.drain()
    await asyncio.sleep(0.1)
    srv.close()
asyncio.run(main())
