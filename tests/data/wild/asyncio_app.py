# asyncio's own reports: a callback that raised, a task whose exception nobody
# retrieved, then a TaskGroup's failure, printed plain (python3 asyncio_app.py) or
# through logging (python3 asyncio_app.py log).
import asyncio
import gc
import logging
import sys

LOG = sys.argv[1:] == ["log"]
if LOG:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def say(msg):
    # Without a handler, logging.info would configure one: plain stays plain.
    if LOG:
        logging.info(msg)


def on_timer():
    raise ValueError("callback failed")


async def fetch():
    raise KeyError("task failed")


async def main():
    say("start")
    asyncio.get_running_loop().call_soon(on_timer)
    await asyncio.sleep(0.01)
    t = asyncio.ensure_future(fetch())
    await asyncio.sleep(0.01)
    del t
    gc.collect()
    say("gathering")
    async with asyncio.TaskGroup() as tg:
        tg.create_task(fetch())
        tg.create_task(fetch())


asyncio.run(main())
