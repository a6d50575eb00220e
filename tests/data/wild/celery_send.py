"""Queue one of each task of celery_app (imported, so the names are celery_app.*)."""
from celery_app import add, charge, slow

add.delay(2, 3)
charge.delay("{not json")
slow.delay()
