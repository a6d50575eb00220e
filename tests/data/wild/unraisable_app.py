# What sys.unraisablehook and atexit print: a finalizer that raises, a generator
# whose finally raises when it is collected, an atexit callback that raises.
import atexit


class Conn:
    def __del__(self):
        1 / 0


c = Conn()
del c


def rows():
    try:
        yield 1
    finally:
        raise ValueError("in finally")


g = rows()
next(g)
del g


def flush():
    raise RuntimeError("flush at exit failed")


atexit.register(flush)
