import json
import logging
from rich.logging import RichHandler

logging.basicConfig(level="INFO", format="%(message)s", handlers=[RichHandler(rich_tracebacks=True)])
log = logging.getLogger("shop")

def load_order(raw):
    try:
        return json.loads(raw)
    except ValueError as e:
        raise RuntimeError("order payload is not JSON") from e

log.info("worker ready")
log.warning("cache is cold, the first requests will be slow while it warms up from the database")
try:
    load_order("{bad")
except RuntimeError:
    log.exception("order 1001 rejected")
log.error("a plain error\nwith a second line")
log.info("done")
