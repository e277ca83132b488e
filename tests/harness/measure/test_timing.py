"""Tests for timing, the statistics behind scaling and speedup claims, and the roofline peaks built on them."""
import numpy as np
import pytest
import torch

from harness.errors import ArchbenchError
from harness.measure.roofline import Peaks, achieved_fraction, measure_peaks
from harness.measure.timing import fit_loglog, ratio_ci, time_fn, time_steps


def small_work():
    return torch.ones(64).sum()


def test_time_fn_reports_median_between_quartiles_with_raw_samples():
    timing = time_fn(small_work, min_run_time=0.02)
    assert timing.q1 <= timing.median <= timing.q3
    assert timing.n == len(timing.samples) and timing.unit == "s" and "blocked_autorange" in timing.method


def test_every_call_including_warmup_runs_at_the_requested_threads():
    seen = set()
    time_fn(lambda: seen.add(torch.get_num_threads()), threads=1, warmup=2, min_run_time=0.02)
    assert seen == {1}


def test_time_fn_records_threads_and_restores_the_previous_count():
    before = torch.get_num_threads()
    timing = time_fn(small_work, threads=1, min_run_time=0.02)
    assert (timing.threads, torch.get_num_threads()) == (1, before)


def test_time_fn_defaults_to_torch_thread_count():
    assert time_fn(small_work, min_run_time=0.02).threads == torch.get_num_threads()


def test_time_fn_rejects_an_unknown_device():
    with pytest.raises(ArchbenchError, match="unsupported device"):
        time_fn(small_work, device="tpu")


def test_time_steps_starts_every_repeat_from_a_fresh_state_and_discards_the_warmup():
    states, seen = [], set()

    def prepare():
        states.append([])
        return states[-1]

    def step(state, i):
        seen.add(torch.get_num_threads())
        state.append(i)

    before = torch.get_num_threads()
    timing = time_steps(prepare, step, 3, repeats=4, warmup=2, threads=1)
    assert states == [[0, 1, 2]] * 6                      # 2 warm-up + 4 timed repeats, each from its own state
    assert timing.n == 4 and timing.threads == 1 and seen == {1} and torch.get_num_threads() == before
    assert "3 steps × 4 repeats" in timing.method


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_time_fn_reports_quartiles():
    x = torch.ones(1 << 20, device="cuda")
    timing = time_fn(lambda: x.mul_(1.0), device="cuda", min_run_time=0.05)
    assert timing.q1 <= timing.median <= timing.q3 and timing.device == "cuda"


def noisy_power_law(slope, seed=0):
    xs = np.array([128, 256, 512, 1024, 2048, 4096], dtype=float)
    noise = np.random.default_rng(seed).lognormal(0.0, 0.05, xs.size)
    return xs, 3e-9 * xs**slope * noise


@pytest.mark.parametrize("true_slope", [1.0, 2.0])
def test_fit_loglog_ci_contains_the_true_slope(true_slope):
    fit = fit_loglog(*noisy_power_law(true_slope))
    assert fit.ci_low <= true_slope <= fit.ci_high and fit.ci_low < fit.slope < fit.ci_high


def test_fit_loglog_tells_linear_from_quadratic():
    fit = fit_loglog(*noisy_power_law(1.0))
    assert not fit.ci_low <= 2.0 <= fit.ci_high


def test_fit_loglog_of_an_exact_power_law_is_exact():
    xs = np.array([1.0, 2.0, 4.0, 8.0])
    fit = fit_loglog(xs, 5 * xs**2)
    assert fit.slope == pytest.approx(2.0) and fit.r2 == pytest.approx(1.0) and fit.n == 4


def test_fit_loglog_needs_three_points():
    with pytest.raises(ArchbenchError, match=">= 3 paired points"):
        fit_loglog([1, 2], [1, 4])


def test_fit_loglog_rejects_non_positive_values():
    with pytest.raises(ArchbenchError, match="positive"):
        fit_loglog([1, 2, 3], [1, 0, 3])


def test_ratio_ci_brackets_a_known_speedup():
    rng = np.random.default_rng(1)
    baseline = rng.normal(2.0, 0.05, 200)
    candidate = rng.normal(1.0, 0.05, 200)
    result = ratio_ci(baseline, candidate)
    assert result.ci_low < 2.0 < result.ci_high and result.ratio == pytest.approx(2.0, rel=0.05)


def test_ratio_ci_excludes_one_for_a_clear_difference():
    rng = np.random.default_rng(2)
    assert ratio_ci(rng.normal(1.5, 0.05, 100), rng.normal(1.0, 0.05, 100)).ci_low > 1.0


def test_ratio_ci_is_reproducible_with_its_fixed_seed():
    rng = np.random.default_rng(3)
    a, b = rng.normal(1.0, 0.1, 50), rng.normal(1.0, 0.1, 50)
    assert ratio_ci(a, b) == ratio_ci(a, b)


def test_ratio_ci_needs_samples_on_both_sides():
    with pytest.raises(ArchbenchError, match="samples on both sides"):
        ratio_ci([], [1.0])


# roofline: peaks are measured with time_fn, so their tests live with the timing tests


def test_measure_peaks_reports_rates_threads_and_method():
    peaks = measure_peaks("cpu", threads=1, matmul_n=64, copy_mib=1, min_run_time=0.02)
    assert peaks.flops_per_s > 0 and peaks.bytes_per_s > 0 and peaks.threads == 1
    assert "64x64" in peaks.flops_method and "1 MiB" in peaks.bytes_method


def test_achieved_fraction_is_rate_over_peak():
    assert achieved_fraction(work=2e9, seconds=0.5, peak_per_s=8e9) == 0.5


def test_achieved_fraction_rejects_zero_time():
    with pytest.raises(ArchbenchError, match="positive seconds"):
        achieved_fraction(work=1.0, seconds=0.0, peak_per_s=1.0)


def test_roofline_ceiling_is_bandwidth_below_the_ridge_and_compute_above():
    peaks = Peaks(flops_per_s=100.0, bytes_per_s=10.0, flops_method="", bytes_method="", device="cpu",
                  threads=1, dtype="float32")
    assert (peaks.ridge_intensity, peaks.attainable_flops_per_s(2.0), peaks.attainable_flops_per_s(50.0)) == \
        (10.0, 20.0, 100.0)
