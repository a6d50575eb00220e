"""A multiprocessing.Pool worker fails ("pool"); a ProcessPoolExecutor worker whose
own Pool's worker fails ("nested": a remote traceback quoted inside a remote one)."""
import concurrent.futures
import multiprocessing
import sys


def parse_row(row):
    return int(row)


def total(rows):
    with multiprocessing.Pool(1) as pool:
        return sum(pool.map(parse_row, rows))


def region_report(region):
    with concurrent.futures.ProcessPoolExecutor(1) as ex:
        return ex.submit(total, ["1", "x" + region]).result()


if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    if sys.argv[1] == "pool":
        total(["1", "2", "three"])
    else:
        region_report("eu")
