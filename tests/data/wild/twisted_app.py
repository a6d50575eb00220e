# Twisted's own reports: an errback nobody handled ("Unhandled error in
# Deferred:"), logged by twisted.logger to stderr, then a failure logged with
# log.failure.
import sys
from twisted.internet import defer, reactor, task
from twisted.logger import Logger, globalLogBeginner, textFileLogObserver

globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stderr)])
log = Logger(namespace="shop.orders")


def parse(v):
    return int(v)


def charge(_):
    try:
        parse("x")
    except ValueError as e:
        raise RuntimeError("charge failed") from e


def main():
    d = defer.Deferred()
    d.addCallback(charge)
    d.callback(None)
    del d
    import gc
    gc.collect()
    try:
        {}["sku"]
    except KeyError:
        log.failure("lookup failed")
    reactor.callLater(0.05, reactor.stop)


reactor.callWhenRunning(main)
reactor.run()
