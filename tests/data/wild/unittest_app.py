# unittest's report (python3 unittest_app.py): an error with a chained cause, a
# class fixture that failed, subtests that failed.
import unittest


class Orders(unittest.TestCase):
    def test_parse(self):
        try:
            int("x")
        except ValueError as e:
            raise RuntimeError("bad order id") from e

    def test_limits(self):
        for i in range(3):
            with self.subTest(i=i):
                self.assertLess(i, 1)

    def test_ok(self):
        pass


class Db(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise OSError("no database")

    def test_a(self):
        pass


unittest.main(verbosity=2)
