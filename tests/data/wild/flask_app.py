"""A Flask app on its development server: /orders fails with a chained error."""
import json

from flask import Flask

app = Flask(__name__)


def load_order(raw):
    try:
        return json.loads(raw)
    except ValueError as e:
        raise LookupError("order payload unreadable") from e


@app.route("/")
def index():
    return "ok\n"


@app.route("/orders")
def orders():
    return load_order("{not json")


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8890)
