"""A Celery app on the filesystem transport (no broker server): `charge` fails with
a chained error, `slow` runs past its soft time limit, `add` succeeds."""
import json
import time

from celery import Celery

app = Celery("shop", broker="filesystem://", backend=None)
app.conf.broker_transport_options = {
    "data_folder_in": "/tmp/b/cq/out",
    "data_folder_out": "/tmp/b/cq/out",
    "processed_folder": "/tmp/b/cq/proc",
}


@app.task
def add(x, y):
    return x + y


@app.task
def charge(raw):
    try:
        order = json.loads(raw)
    except ValueError as e:
        raise LookupError("order payload unreadable") from e
    return order


@app.task(soft_time_limit=1)
def slow():
    time.sleep(3)
