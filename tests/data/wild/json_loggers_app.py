"""Real JSON-lines output of three Python logging libraries, for pycorr's tests.

Run with Debian's python3 (3.11): python-json-logger 2.0.1, structlog 22.3 and
loguru 0.6 (serialize=True, plainly and with its defaults, which decorate the
traceback with the values of variables). Each library logs the same chained failure (a KeyError while parsing
an order, re-raised as a ValueError "from" it) and an info record; structlog does
it twice, with the traceback as text (format_exc_info) and as a dict
(dict_tracebacks). Usage: python3 json_loggers_app.py LIB > out.jsonl
"""
import logging
import sys


class OrderError(ValueError):
    pass


def parse(order):
    return order["qty"] * 2


def place(order):
    try:
        return parse(order)
    except KeyError as e:
        raise OrderError(f"order {order.get('id')} has no quantity") from e


def fail(log_exc):
    try:
        place({"id": 7})
    except OrderError:
        log_exc()


def python_json_logger():
    from pythonjsonlogger import jsonlogger
    h = logging.StreamHandler(sys.stdout)
    h.setFormatter(jsonlogger.JsonFormatter("%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"))
    log = logging.getLogger("shop.orders")
    log.addHandler(h)
    log.setLevel(logging.INFO)
    log.info("order accepted", extra={"order_id": 6, "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"})
    fail(lambda: log.exception("order failed", extra={"order_id": 7, "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}))


def structlog_json(dict_tb):
    import structlog
    procs = [structlog.processors.add_log_level, structlog.processors.TimeStamper(fmt="iso", utc=True)]
    procs.append(structlog.processors.dict_tracebacks if dict_tb else structlog.processors.format_exc_info)
    procs.append(structlog.processors.JSONRenderer())
    structlog.configure(processors=procs, logger_factory=structlog.PrintLoggerFactory(sys.stdout))
    log = structlog.get_logger("shop.orders").bind(service="orders")
    log.info("order accepted", order_id=6)
    fail(lambda: log.exception("order failed", order_id=7))


def loguru_json(plain):
    from loguru import logger
    logger.remove()
    if plain:
        logger.add(sys.stdout, serialize=True, backtrace=False, diagnose=False)
    else:
        logger.add(sys.stdout, serialize=True)  # loguru's defaults: backtrace and diagnose on
    logger.bind(service="orders").info("order accepted")
    fail(lambda: logger.bind(service="orders").exception("order failed"))


if __name__ == "__main__":
    {"python-json-logger": python_json_logger,
     "structlog-text": lambda: structlog_json(False),
     "structlog-dict": lambda: structlog_json(True),
     "loguru": lambda: loguru_json(True),
     "loguru-diagnose": lambda: loguru_json(False)}[sys.argv[1]]()
