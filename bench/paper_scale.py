def bench_paper_scale(scale=1.0, keep=None, log=print):
    raise NotImplementedError
