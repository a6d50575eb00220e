# pydantic 1.10's ValidationError, logged by logger.exception and then uncaught: its
# message names each field on a line of its own, unindented, before the field's error.
import logging
from pydantic import BaseModel
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
class Order(BaseModel):
    sku: str
    qty: int
try:
    Order(qty="many")
except Exception:
    logging.getLogger("shop.api").exception("bad order")
Order(qty="many")
