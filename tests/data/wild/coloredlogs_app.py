import json
import logging
import coloredlogs

log = logging.getLogger("shop.orders")
coloredlogs.install(level="INFO", logger=log, isatty=True)

def load_order(raw):
    try:
        return json.loads(raw)
    except ValueError as e:
        raise RuntimeError("order payload is not JSON") from e

log.info("worker ready")
try:
    load_order("{bad")
except RuntimeError:
    log.exception("order 1001 rejected")
log.warning("slow request took 812 ms")
