import sys
from loguru import logger
logger.remove()
logger.add(sys.stderr, colorize=bool(int(sys.argv[1])), backtrace=True, diagnose=True)
def divide(a, b):
    return a / b
def compute(values):
    total = 0
    for v in values:
        total += divide(100, v)
    return total
logger.info("starting batch of {} values", 3)
try:
    compute([1, 2, 0])
except ZeroDivisionError:
    logger.exception("batch failed")
def load(path):
    with open(path) as f:
        return f.read()
@logger.catch(reraise=False)
def main():
    try:
        load("/nonexistent/settings.toml")
    except OSError as e:
        raise RuntimeError("settings unavailable") from e
main()
logger.warning("shutting down")
