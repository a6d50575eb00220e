import json
from rich.traceback import install
install(width=100, show_locals=False)
def load(raw):
    try:
        return json.loads(raw)
    except ValueError as e:
        raise RuntimeError("payload is not JSON") from e
load("{bad")
