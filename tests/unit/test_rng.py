"""Unit tests for the counter-based streams in jkn_risk.rng (exact answers, small inputs)."""
import numpy as np
from numba import njit

from jkn_risk import rng


@njit(cache=True)
def _first_u64s(key, n):
    s0, s1, s2, s3 = rng.seed_state(key)
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        v, s0, s1, s2, s3 = rng.next_u64(s0, s1, s2, s3)
        out[i] = v
    return out


@njit(cache=True)
def _key(tag, seed, a, b, c):
    return rng.stream_key(tag, seed, a, b, c)


def test_stream_key_is_pure_and_depends_on_every_word():
    base = _key(1, 42, 3, 4, 5)
    assert base == _key(1, 42, 3, 4, 5)
    variants = [_key(2, 42, 3, 4, 5), _key(1, 43, 3, 4, 5), _key(1, 42, 4, 4, 5),
                _key(1, 42, 3, 5, 5), _key(1, 42, 3, 4, 6), _key(1, 42, 4, 3, 5)]
    assert len({base, *variants}) == 7


def test_xoshiro_matches_reference_implementation():
    """xoshiro256** from the same SplitMix64-expanded state, re-implemented in plain Python."""
    mask = (1 << 64) - 1
    key = int(np.uint64(_key(1, 7, 0, 0, 0)))

    def mix(z):
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    s = [mix((key + (i + 1) * 0x9E3779B97F4A7C15) & mask) for i in range(4)]

    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & mask

    expected = []
    for _ in range(5):
        expected.append(rotl((s[1] * 5) & mask, 7) * 9 & mask)
        t = (s[1] << 17) & mask
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t
        s[3] = rotl(s[3], 45)
    got = [int(v) for v in _first_u64s(np.uint64(key), 5)]
    assert got == expected


def test_uniforms_for_is_independent_of_split_and_order():
    ids = np.arange(50)
    full = rng.uniforms_for(rng.TAG_IBNR, 9, ids)
    assert np.all((full >= 0) & (full < 1))
    parts = np.concatenate([rng.uniforms_for(rng.TAG_IBNR, 9, ids[30:][::-1])[::-1],
                            rng.uniforms_for(rng.TAG_IBNR, 9, ids[:30])])
    np.testing.assert_array_equal(np.r_[parts[20:], parts[:20]], full)
