"""An independent Python implementation of the documented window order
(include/cocomix/data/window_sampler.h, util/random.h): the keyed Feistel
permutation with cycle walking, shard windows and the per-epoch offset, on the
seeded draws of cocomix_tools.corpus (splitmix64, stream_seed). It prints the
values tests/unit/window_sampler_test.cpp asserts (from the repository root):

    PYTHONPATH=python ~/.cache/cocomix/venv/bin/python tests/reference/window_order.py
"""
from cocomix_tools.corpus import M64, splitmix64, stream_seed


class IndexPermutation:
    def __init__(self, n, key):
        bits = 2
        while bits < 64 and (1 << bits) < n:
            bits += 2
        self.n, self.key, self.h = n, key, bits // 2
        self.mask = (1 << self.h) - 1

    def _pass(self, v):
        left, right = v >> self.h, v & self.mask
        for r in range(4):
            left, right = right, left ^ (splitmix64(self.key ^ (r << 56) ^ right) & self.mask)
        return (left << self.h) | right

    def __call__(self, i):
        v = self._pass(i)
        while v >= self.n:
            v = self._pass(v)
        return v


def shard_windows(shards, t, offset):
    """Every window start of the epoch, numbered shard after shard."""
    starts, begin = [], 0
    for n in shards:
        if n >= offset + t + 1:
            starts += [begin + offset + i * t for i in range((n - 1 - offset) // t)]
        begin += n
    return starts


def epochs(shards, t, order, seed, rank=0, world=1, count=1):
    """The first `count` epochs of one rank, each a list of window starts."""
    max_offset = max(o for o in range(t + 1) if len(shard_windows(shards, t, o)) >= world)
    out = []
    for e in range(count):
        z = stream_seed(seed, e)
        offset = splitmix64(z) % (max_offset + 1) if order == "random" else 0
        windows = shard_windows(shards, t, offset)
        per_rank = len(windows) // world
        positions = [rank + i * world for i in range(per_rank)]
        if order != "sequential":
            p = IndexPermutation(len(windows), splitmix64((z + 1) & M64))
            positions = [p(x) for x in positions]
        out.append([windows[x] for x in positions])
    return out


def main():
    p = IndexPermutation(10, 12345)
    print("IndexPermutation(10, 12345):", [p(i) for i in range(10)])
    print("random 50/4/1337 epochs:", epochs([50], 4, "random", 1337, count=2))
    print("fixed 50/4/1337 epochs:", epochs([50], 4, "fixed", 1337, count=2))
    print("fixed rank 0/2:", epochs([50], 4, "fixed", 1337, 0, 2)[0][:6])
    print("fixed rank 1/2:", epochs([50], 4, "fixed", 1337, 1, 2)[0][:6])
    print("random shards [23, 3, 30] T=4 seed 7 epochs:", epochs([23, 3, 30], 4, "random", 7, count=2))
    print("fixed shards [23, 3, 30] T=4 seed 7:", epochs([23, 3, 30], 4, "fixed", 7)[0])


if __name__ == "__main__":
    main()
