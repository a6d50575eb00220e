import logging
from rich.console import Console
from rich.logging import RichHandler
console = Console(width=100, force_terminal=False, color_system=None)
logging.basicConfig(level="INFO", format="%(message)s", datefmt="[%X]",
                    handlers=[RichHandler(console=console, rich_tracebacks=True, show_time=False, show_path=False)])
log = logging.getLogger("jobs")
log.info("starting")
def charge(amount):
    if amount < 0:
        raise ValueError(f"negative amount {amount} is not allowed for customer account number 12345678 in region eu-west")
    return amount
try:
    charge(-5)
except ValueError:
    log.exception("charge failed")
log.warning("retrying later")
