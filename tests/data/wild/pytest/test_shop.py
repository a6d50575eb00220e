import json
import pytest

def parse_price(s):
    return float(s)

def load_order(raw):
    try:
        data = json.loads(raw)
    except ValueError as e:
        raise RuntimeError("order payload is not JSON") from e
    return data

def test_price():
    assert parse_price("12.5") == 12.5

def test_bad_price():
    parse_price("twelve")

def test_order():
    load_order("{bad")

def test_compare():
    assert {"a": 1} == {"a": 2}

@pytest.fixture
def db():
    raise ConnectionError("database at db:5432 refused the connection")

def test_with_db(db):
    assert db

async def never(): pass

def test_group():
    raise ExceptionGroup("two failures", [ValueError("a"), TypeError("b")])
