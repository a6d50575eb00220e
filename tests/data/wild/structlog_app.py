import json
import structlog

log = structlog.get_logger("shop")

def load_order(raw):
    try:
        return json.loads(raw)
    except ValueError as e:
        raise RuntimeError("order payload is not JSON") from e

log.info("worker ready", queue="orders")
try:
    load_order("{bad")
except RuntimeError:
    log.exception("order rejected", order_id=1001)
log.warning("slow", ms=812)
