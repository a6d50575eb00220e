# SQLAlchemy 1.4 and requests 2.28 failures as applications log them: an
# IntegrityError whose message has SQLAlchemy's "[SQL: ...]" and "(Background on
# this error at: ...)" lines, and a connection refused through urllib3's retries.
import logging
import sqlalchemy as sa
import requests

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
log = logging.getLogger("shop.db")

engine = sa.create_engine("sqlite://")
with engine.begin() as c:
    c.execute(sa.text("create table orders (id integer primary key, sku text not null)"))
try:
    with engine.begin() as c:
        c.execute(sa.text("insert into orders (id, sku) values (1, null)"))
except sa.exc.IntegrityError:
    log.exception("could not save order")

try:
    requests.get("http://127.0.0.1:9/health", timeout=1)
except requests.RequestException:
    logging.getLogger("shop.http").exception("health check failed")
