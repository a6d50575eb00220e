import multiprocessing as mp
def work(n):
    raise ValueError(f"bad item {n}")
if __name__ == "__main__":
    p = mp.Process(target=work, args=(3,))
    p.start(); p.join()
    raise SystemExit(p.exitcode)
