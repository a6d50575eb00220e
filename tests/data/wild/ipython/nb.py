import json
def load(raw):
    try:
        return json.loads(raw)
    except ValueError as e:
        raise RuntimeError("payload is not JSON") from e
load("{bad")
