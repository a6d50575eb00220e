"""logging's stack_info at WARNING, ERROR and INFO, and traceback.print_stack."""
import logging
import traceback

logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
log = logging.getLogger("app.jobs")


def worker():
    log.warning("slow batch, where are we?", stack_info=True)
    log.error("lost the lease\nretrying from the last checkpoint", stack_info=True)
    log.info("checkpoint saved", stack_info=True)
    traceback.print_stack(limit=2)


log.info("start")
worker()
log.info("done")
