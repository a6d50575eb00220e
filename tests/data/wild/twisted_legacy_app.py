# Twisted's legacy log (twisted.python.log, as Buildbot and older apps use): log.err
# with a failure, its traceback indented by a tab under the record.
import sys
from twisted.python import log
log.startLogging(sys.stderr)
log.msg("starting")
try:
    1 / 0
except ZeroDivisionError:
    log.err(None, "division went wrong")
log.msg("done")
