import logging
import sys

log = logging.getLogger("shop.checkout")

def charge(amount):
    if amount <= 0:
        raise ValueError(f"amount must be positive, got {amount}")
    return amount

def test_charge_prints():
    print("charging the card")
    print("E   this printed line only looks like an E line")
    print("warning on stderr", file=sys.stderr)
    log.error("payment gateway said no")
    log.warning("retrying in 5 s")
    charge(-3)

def test_teardown_noise():
    log.info("fine")
    assert charge(2) == 3
