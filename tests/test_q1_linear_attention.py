"""Q1: Taylor feature maps, linear attention, M formulas, the benchmark and the rule logic."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from hw2repro.q1 import attention as la
from hw2repro.q1 import dims, verify
from hw2repro.q1 import scaling as qb

torch.set_num_threads(1)
F64 = torch.float64


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def rand(*shape, seed=0, scale=1.0):
    return torch.randn(*shape, generator=gen(seed), dtype=F64) * scale


# ----------------------------------------------------------------------------- kernel identity
@pytest.mark.parametrize("construction", dims.CONSTRUCTIONS)
@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("d", [1, 3, 7])
def test_kernel_identity_is_exact(construction, k, d):
    q, kk = rand(200, d, seed=1), rand(200, d, seed=2)
    phi = la.feature_map(construction, k)
    got = (phi(q) * phi(kk)).sum(-1)
    t = (q * kk).sum(-1)
    want = sum(t**n / math.factorial(n) for n in range(k))
    assert torch.allclose(got, want, rtol=1e-13, atol=1e-13)


def test_homework_map_reproduces_one_plus_t_plus_half_t_squared():
    q, kk = rand(50, 5, seed=3), rand(50, 5, seed=4)
    t = (q * kk).sum(-1)
    for c in dims.CONSTRUCTIONS:
        phi = la.feature_map(c, 3)
        assert torch.allclose((phi(q) * phi(kk)).sum(-1), 1 + t + t**2 / 2, rtol=1e-13, atol=1e-13)


def test_symmetric_map_by_hand_for_d2():
    x = torch.tensor([2.0, 3.0], dtype=F64)
    r2 = math.sqrt(2)
    assert torch.allclose(la.phi_symmetric(x, 3), torch.tensor([1, 2, 3, 4 / r2, 6, 9 / r2], dtype=F64))
    # full outer product: [1, x, vec(x xᵀ)/√2]
    assert torch.allclose(la.phi_full(x, 3), torch.tensor([1, 2, 3, 4 / r2, 6 / r2, 6 / r2, 9 / r2], dtype=F64))


def test_feature_maps_accept_batch_dimensions():
    x = rand(2, 3, 5, 4)
    for c in dims.CONSTRUCTIONS:
        out = la.feature_map(c, 3)(x)
        assert out.shape == (2, 3, 5, dims.feature_dim(c, 4, 3))
        assert torch.allclose(out[1, 2], la.feature_map(c, 3)(x[1, 2]))


# ----------------------------------------------------------------------------- M formulas
def test_m_formulas_closed_forms():
    for d in range(1, 17):
        assert dims.m_full(d, 3) == 1 + d + d * d
        assert dims.m_symmetric(d, 3) == 1 + d + d * (d + 1) // 2
        for k in range(1, 5):
            assert dims.m_symmetric(d, k) == dims.m_symmetric_sum(d, k)
    assert (dims.m_full(2, 3), dims.m_symmetric(2, 3), dims.m_symmetric(3, 4)) == (7, 6, 20)


@pytest.mark.parametrize("construction", dims.CONSTRUCTIONS)
def test_constructed_dimension_equals_formula(construction):
    for d in range(1, 17):
        x = torch.zeros(1, d, dtype=F64)
        for k in range(1, 5):
            assert la.feature_map(construction, k)(x).shape[-1] == dims.feature_dim(construction, d, k)


def test_unknown_construction_is_rejected():
    with pytest.raises(ValueError):
        la.feature_map("outer", 3)


# ----------------------------------------------------------------------------- attention forms
@pytest.mark.parametrize("construction", dims.CONSTRUCTIONS)
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_linear_equals_quadratic_form(construction, k):
    q, kk, v = la.scaled_inputs(64, 6, 1.0, gen(5))
    phi = la.feature_map(construction, k)
    lin, quad = la.linear_attention(q, kk, v, phi), la.quadratic_attention(q, kk, v, phi)
    assert torch.allclose(lin, quad, rtol=1e-11, atol=1e-12)


def test_linear_form_batched_equals_per_item():
    q, kk, v = rand(3, 20, 4, seed=6), rand(3, 20, 4, seed=7), rand(3, 20, 4, seed=8)
    phi = la.feature_map("symmetric", 3)
    batched = la.linear_attention(q * 0.3, kk * 0.3, v, phi)
    for i in range(3):
        assert torch.allclose(batched[i], la.linear_attention(q[i] * 0.3, kk[i] * 0.3, v[i], phi))


def test_exact_attention_matches_torch_softmax_even_at_large_scale():
    q, kk, v = la.scaled_inputs(40, 8, 50.0, gen(9))  # exp would overflow without the row max
    ref = torch.softmax(q @ kk.T, dim=-1) @ v
    out = la.exact_attention(q.clone(), kk.clone(), v.clone())
    assert torch.isfinite(out).all() and torch.allclose(out, ref, rtol=1e-12, atol=1e-12)


def test_linear_form_approximates_softmax_at_small_scale_only():
    phi = la.feature_map("symmetric", 3)

    def rel_error(scale):
        q, kk, v = la.scaled_inputs(128, 8, scale, gen(10))
        exact = la.exact_attention(q, kk, v)
        return ((la.linear_attention(q, kk, v, phi) - exact).norm() / exact.norm()).item()

    small, big = rel_error(0.05), rel_error(20.0)
    assert small < 1e-3 and big > 0.3


def test_scaled_inputs_put_the_scale_on_qk():
    q, kk, _ = la.scaled_inputs(400, 16, 3.0, gen(11))
    assert 2.5 < (q @ kk.T).std().item() < 3.5


# ----------------------------------------------------------------------------- kernel sign
def test_taylor_roots_and_minimum():
    assert verify.taylor_real_root(3) is None and verify.taylor_real_root(1) is None
    assert verify.taylor_real_root(2) == pytest.approx(-1.0, abs=1e-12)
    assert verify.taylor_real_root(4) == pytest.approx(-1.5960716379833215, abs=1e-10)
    assert verify._even_degree_minimum(3) == pytest.approx(0.5, abs=1e-12)
    t = torch.linspace(-6, 3, 10001, dtype=F64)
    assert la.taylor_kernel(t, 5).min().item() == pytest.approx(verify._even_degree_minimum(5), abs=1e-6)


def test_sweep_shows_nonpositive_normalizers_for_odd_degree_only():
    rows = verify.approximation_sweep([0.1, 20.0], [3, 4], d=8, length=64, seeds=[0, 1], construction="symmetric")
    df = pd.DataFrame(rows)
    k3, k4 = df[df["K"] == 3], df[df["K"] == 4]
    assert (k3["min_kernel"] >= 0.5 - 1e-12).all()
    assert (k3["frac_rows_nonpositive_normalizer"] == 0).all()
    assert k4[k4["scale"] == 20.0]["frac_rows_nonpositive_normalizer"].max() > 0
    obs = pd.DataFrame(verify.positivity_observations(rows)).set_index(["check", "K"])
    assert bool(obs.loc[("kernel_lower_bound", 3), "passed"])
    assert obs.loc[("first_scale_nonpositive_normalizer", 4), "value"] == 20.0


# ----------------------------------------------------------------------------- memory: no L×L
def _linear(construction="symmetric", d=4):
    phi = la.feature_map(construction, 3)
    return lambda q, k, v: la.linear_attention(q, k, v, phi)


@pytest.mark.parametrize("construction", dims.CONSTRUCTIONS)
def test_linear_path_never_allocates_l_by_l(construction):
    length, d = 2048, 4
    q, k, v = (t.float() for t in la.scaled_inputs(length, d, 1.0, gen(12)))
    fn = _linear(construction, d)
    peak, largest = qb.peak_memory(lambda: fn(q, k, v))
    assert largest < length * length * 4 / 16  # an L×L float32 matrix would be 16 MiB here
    # doubling L doubles (not quadruples) the peak
    q2, k2, v2 = (t.float() for t in la.scaled_inputs(2 * length, d, 1.0, gen(12)))
    peak2, _ = qb.peak_memory(lambda: fn(q2, k2, v2))
    assert 1.8 < peak2 / peak < 2.2


def test_memory_probe_sees_the_exact_l_by_l_buffer():
    length = 1024
    q, k, v = (t.float() for t in la.scaled_inputs(length, 4, 1.0, gen(13)))
    peak, largest = qb.peak_memory(lambda: la.exact_attention(q, k, v))
    assert largest >= length * length * 4 and peak >= largest
    q2, k2, v2 = (t.float() for t in la.scaled_inputs(2 * length, 4, 1.0, gen(13)))
    peak2, _ = qb.peak_memory(lambda: la.exact_attention(q2, k2, v2))
    assert 3.6 < peak2 / peak < 4.4


def test_quadratic_reference_does_allocate_l_by_l():
    """Guards the test above: the probe must be able to tell the two orders apart."""
    length = 1024
    q, k, v = (t.float() for t in la.scaled_inputs(length, 4, 1.0, gen(14)))
    phi = la.feature_map("symmetric", 3)
    _, largest = qb.peak_memory(lambda: la.quadratic_attention(q, k, v, phi))
    assert largest >= length * length * 4


# ----------------------------------------------------------------------------- benchmark helpers
def test_loglog_slope_recovers_power_laws():
    x = np.array([64, 128, 256, 512])
    assert qb.loglog_slope(x, 3 * x**2.0) == pytest.approx(2.0)
    assert qb.loglog_slope(x, 0.1 * x) == pytest.approx(1.0)
    assert math.isnan(qb.loglog_slope([1], [1]))


def test_crossover_length_interpolates_between_grid_points():
    lengths = np.array([32, 64, 128, 256, 512])
    grid, interp = qb.crossover_length(lengths, lengths**2.0, 100.0 * lengths)  # L² = 100 L at L = 100
    assert grid == 128 and interp == pytest.approx(100.0, rel=1e-9)
    assert all(math.isnan(x) for x in qb.crossover_length(lengths, lengths * 1.0, lengths * 2.0))
    # a win that does not last is not a crossover
    grid, _ = qb.crossover_length(lengths, [2, 1, 3, 5, 9], [1, 2, 2, 2, 2])
    assert grid == 128


def test_time_call_respects_repeat_bounds():
    calls = []
    timing = qb.time_call(lambda: calls.append(1), min_time_s=10.0, min_repeats=2, max_repeats=4)
    assert timing["repeats"] == 4 == len(calls)
    timing = qb.time_call(lambda: calls.append(1), min_time_s=0.0, min_repeats=3, max_repeats=1)
    assert timing["repeats"] == 3
    assert timing["time_s"] >= 0 and timing["cpu_time_s"] >= 0


# ----------------------------------------------------------------------------- rule logic, tiny
TINY_VERIFY = {
    "identity_dims": [1, 3],
    "n_pairs": 16,
    "max_dim": 4,
    "max_terms": 4,
    "identity_rtol": 1e-12,
    "linear_dims": [3],
    "linear_length": 16,
    "linear_rtol": 1e-10,
    "fail_on_mismatch": True,
}
TINY_APPROX = {
    "terms": [2, 3, 4],
    "construction": "symmetric",
    "dim": 4,
    "length": 32,
    "scale_min": 0.1,
    "scale_max": 30.0,
    "n_scales": 3,
    "n_seeds": 2,
}
TINY_SCALING = {
    "lengths": [16, 32, 64, 128],
    "dims": [2, 4],
    "constructions": ["symmetric", "full"],
    "terms": 3,
    "dtype": "float32",
    "min_time_s": 0.0,
    "min_repeats": 1,
    "max_repeats": 1,
    "fit_min_length": 32,
    "reuse_freed_memory": False,
}


def test_verify_rule_logic_on_tiny_sizes():
    table, sweep = verify.verification_tables(TINY_VERIFY, TINY_APPROX, seed=0)
    checks = table[table["kind"] == "check"]
    assert len(verify.failed_checks(table)) == 0
    assert set(checks["check"]) == {
        "kernel_identity",
        "feature_dim",
        "linear_equals_quadratic",
        "exact_matches_torch_softmax",
        "kernel_lower_bound",
    }
    assert len(checks[checks["check"] == "feature_dim"]) == 2 * 4 * 4
    assert len(sweep) == 3 * 3 * 2 and np.isfinite(sweep["rel_error"]).all()
    assert {"first_scale_nonpositive_normalizer", "kernel_real_root"} <= set(table["check"])


def test_failed_checks_reports_a_broken_row():
    table, _ = verify.verification_tables(TINY_VERIFY, TINY_APPROX, seed=0)
    table.loc[0, "passed"] = False
    assert len(verify.failed_checks(table)) == 1


def test_scaling_rule_logic_on_tiny_sizes():
    out = qb.scaling_tables(TINY_SCALING, seed=0, threads=1)
    df = out["scaling"]
    assert len(df) == 4 * 2 * 3
    assert set(df["method"]) == {"exact", "linear_symmetric", "linear_full"}
    assert (df["threads"] == 1).all() and (df["dtype"] == "float32").all()
    assert (df["time_s"] > 0).all() and (df["peak_bytes"] > 0).all()
    exact = df[df["method"] == "exact"]
    assert (exact["largest_alloc_bytes"] >= exact["LxL_bytes"]).all()
    slopes = out["slopes"].set_index(["method", "D"])
    assert slopes.loc[("exact", 4), "memory_slope"] == pytest.approx(2.0, abs=0.2)
    assert slopes.loc[("linear_symmetric", 4), "memory_slope"] == pytest.approx(1.0, abs=0.2)
    assert len(out["crossover"]) == 2 * 2
    cx = out["complexity"]
    assert {"O(L²·D) time", "O(L·M·D) time", "O(L²) memory", "O(L·M) memory"} <= set(cx["claim"])


def test_figures_on_tiny_results(tmp_path):
    from hw2repro import plotting
    from hw2repro.q1 import figures as q1_plots

    out = qb.scaling_tables(TINY_SCALING, seed=0, threads=1)
    _, sweep = verify.verification_tables(TINY_VERIFY, TINY_APPROX, seed=0)
    figures = {
        "scaling": q1_plots.scaling_figure(out["scaling"], out["slopes"], out["crossover"], 1),
        "error": q1_plots.error_figure(sweep),
        "dims": q1_plots.feature_dim_figure(range(1, 5), [2, 3]),
    }
    for name, fig in figures.items():  # PNG only: the tiny run's q1_figures job writes both formats
        plotting.save(fig, tmp_path / f"{name}.png")
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
