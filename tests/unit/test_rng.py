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


# --- bulk streams (LANES generators in SIMD registers) ----------------------------------------
@njit(cache=True)
def _bulk(key, sizes, pad):
    """Words of the bulk stream of ``key`` drawn in batches of ``sizes`` (concatenated)."""
    lanes = np.empty((2, 4, rng.LANES), dtype=np.uint64)
    rng.seed_lanes(key, lanes, 1)
    raw = np.empty(pad, dtype=np.uint64)
    out = np.empty(0, dtype=np.uint64)
    for n in sizes:
        rng.fill_u64(lanes, 1, raw, n)
        out = np.concatenate((out, raw[:n]))
    return out


def test_bulk_stream_matches_reference_implementation():
    """Lane ``l`` is xoshiro256** seeded from SplitMix64 outputs 4l+1..4l+4 of mix(key ^ salt);
    word ``LANES t + l`` of a batch is lane ``l``'s ``t``-th output (plain Python)."""
    mask = (1 << 64) - 1
    key = 0x0123456789ABCDEF

    def mix(z):
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & mask

    x = mix(key ^ int(rng._LANE_SALT))
    states = []
    for _ in range(rng.LANES):
        s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & mask
            s.append(mix(x))
        states.append(s)
    rounds = 5
    expected = [0] * (rounds * rng.LANES)
    for lane, s in enumerate(states):
        for t in range(rounds):
            expected[t * rng.LANES + lane] = rotl((s[1] * 5) & mask, 7) * 9 & mask
            u = (s[1] << 17) & mask
            s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= u
            s[3] = rotl(s[3], 45)
    got = _bulk(np.uint64(key), np.array([rounds * rng.LANES]), 64)
    assert [int(v) for v in got] == expected


def test_bulk_stream_advances_by_whole_rounds():
    """A batch of n draws round_up(n, LANES) words: batches (5, 8, 3) read the words of
    rounds 0, 1 and 2 of one stream, each from its start."""
    key = np.uint64(77)
    whole = _bulk(key, np.array([3 * rng.LANES]), 64)
    parts = _bulk(key, np.array([5, 8, 3]), 64)
    L = rng.LANES
    np.testing.assert_array_equal(parts, np.r_[whole[:5], whole[L:2 * L], whole[2 * L:2 * L + 3]])
    assert len(set(whole.tolist())) == whole.size


def test_bulk_stream_refuses_a_short_buffer():
    import pytest

    with pytest.raises(ValueError, match="raw too short"):
        _bulk(np.uint64(1), np.array([rng.LANES + 1]), rng.LANES + 1)
