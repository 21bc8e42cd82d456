"""The value model's formulas against the published numbers and against plain numerical integration of the model's
definition (customers' purchase rates λ ~ Gamma(r, α), drop-out probabilities p ~ Beta(a, b), spend per purchase
Gamma(p, ν) with ν ~ Gamma(q, γ)), and its fit recovering the parameters of data drawn from a known process."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from scipy import integrate, stats

from xuyen.analytics import clv

# The BG/NBD estimates Fader, Hardie & Lee (2005) publish for the CDNOW data (time in weeks).
CDNOW = clv.BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)


def _one(value: float) -> np.ndarray:
    return np.array([value], dtype=np.float64)


def _posterior_integral(params: clv.BgNbd, x: int, t_x: float, age: float, inner: object) -> float:
    """∫∫ g(λ) h(p) · inner(λ, p) dλ dp by numerical quadrature, with the Gamma and Beta densities written out
    (λ on a log scale, so the Gamma's peak near 0 is integrated accurately)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    log_gamma_norm = r * math.log(alpha) - math.lgamma(r)
    log_beta_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)

    def integrand(u: float, p: float) -> float:
        lam = math.exp(u)
        # g(λ)·λ (the Jacobian of λ = e^u) and h(p)
        weight = math.exp(log_gamma_norm + r * u - alpha * lam + log_beta_norm
                          + (a - 1) * math.log(p) + (b - 1) * math.log1p(-p))
        return weight * float(inner(lam, p))  # type: ignore[operator]

    value, _ = integrate.dblquad(integrand, 0, 1, -250, 8, epsabs=1e-14, epsrel=1e-10)
    return float(value)


def _alive_term(x: int, age: float) -> object:
    return lambda lam, p: (1 - p) ** x * lam ** x * math.exp(-lam * age)


def _dropped_term(x: int, t_x: float) -> object:
    return lambda lam, p: p * (1 - p) ** (x - 1) * lam ** x * math.exp(-lam * t_x) if x > 0 else 0.0


def _numeric(params: clv.BgNbd, x: int, t_x: float, age: float, horizon: float) -> tuple[float, float, float]:
    """(likelihood, P(alive), E[purchases in the horizon]) of one customer by integrating the model directly."""
    alive = _alive_term(x, age)
    dropped = _dropped_term(x, t_x)
    likelihood = (_posterior_integral(params, x, t_x, age, alive)
                  + _posterior_integral(params, x, t_x, age, dropped))
    alive_mass = _posterior_integral(params, x, t_x, age, alive)

    def future(lam: float, p: float) -> float:  # an active customer's purchases in the next ``horizon``
        return alive(lam, p) * (1 - math.exp(-lam * p * horizon)) / p  # type: ignore[operator,no-any-return]

    expected = _posterior_integral(params, x, t_x, age, future) / likelihood
    return likelihood, alive_mass / likelihood, expected


def test_the_published_cdnow_example() -> None:
    # Fader, Hardie & Lee (2005), section 5: a customer with 2 repeat purchases, the last at week 30.43, observed
    # for 38.86 weeks, is expected to make 1.226 purchases in the next 39 weeks.
    expected = clv.expected_purchases(CDNOW, 39, _one(2), _one(30.43), _one(38.86))
    assert expected[0] == pytest.approx(1.226, abs=5e-4)


@pytest.mark.parametrize(("x", "t_x", "age"), [(0, 0.0, 38.86), (2, 30.43, 38.86), (5, 12.0, 38.0), (1, 37.0, 38.0)])
def test_closed_forms_match_the_integrated_model(x: int, t_x: float, age: float) -> None:
    likelihood, alive, expected = _numeric(CDNOW, x, t_x, age, horizon=39)
    xs, txs, ages = _one(x), _one(t_x), _one(age)
    # the quadrature is good to about 1e-5 of the value for these small likelihoods; 1e-4 leaves room for it
    assert math.exp(clv.bgnbd_log_likelihood(CDNOW, xs, txs, ages)[0]) == pytest.approx(likelihood, rel=1e-4)
    assert clv.probability_alive(CDNOW, xs, txs, ages)[0] == pytest.approx(alive, rel=1e-4)
    assert clv.expected_purchases(CDNOW, 39, xs, txs, ages)[0] == pytest.approx(expected, rel=1e-4)


def test_a_customer_who_never_came_back_is_taken_as_active() -> None:
    # Under BG/NBD a customer can only drop out right after a purchase, so with no repeat purchase P(alive) = 1.
    assert clv.probability_alive(CDNOW, _one(0), _one(0), _one(30))[0] == 1.0


def test_the_population_expectation_matches_the_integrated_model() -> None:
    numeric = _posterior_integral(CDNOW, 0, 0, 0, lambda lam, p: (1 - math.exp(-lam * p * 39)) / p)
    assert clv.population_expected_purchases(CDNOW, 39) == pytest.approx(numeric, rel=1e-6)
    assert clv.expected_purchases(CDNOW, 0, _one(3), _one(10), _one(20))[0] == 0


SPEND = clv.GammaGamma(p=6.25, q=3.74, gamma=15.44)  # Fader, Hardie & Lee (2005), "RFM and CLV", CDNOW spend


@pytest.mark.parametrize(("x", "m"), [(1, 20.0), (3, 35.5), (10, 80.0)])
def test_spend_model_matches_the_integrated_model(x: int, m: float) -> None:
    nu = stats.gamma(SPEND.q, scale=1 / SPEND.gamma)
    # the mean of x purchases of Gamma(p, ν) is Gamma(p·x, x·ν)
    density, _ = integrate.quad(lambda v: stats.gamma.pdf(m, SPEND.p * x, scale=1 / (x * v)) * nu.pdf(v), 0, np.inf)
    likelihood = math.exp(clv.gamma_gamma_log_likelihood(SPEND, _one(x), _one(m))[0])
    assert likelihood == pytest.approx(density, rel=1e-6)
    posterior_mean, _ = integrate.quad(
        lambda v: SPEND.p / v * stats.gamma.pdf(m, SPEND.p * x, scale=1 / (x * v)) * nu.pdf(v), 0, np.inf)
    assert clv.expected_spend(SPEND, _one(x), _one(m))[0] == pytest.approx(posterior_mean / density, rel=1e-6)
    assert SPEND.mean_spend == pytest.approx(6.25 * 15.44 / 2.74)


def test_value_is_purchases_times_spend_and_discounting_lowers_it() -> None:
    xs, txs, ages, spend = _one(2), _one(30.43), _one(38.86), _one(100.0)
    plain = clv.predicted_value(CDNOW, horizon_days=365, x=xs, t_x=txs, age=ages, spend=spend)[0]
    assert plain == pytest.approx(clv.expected_purchases(CDNOW, 365, xs, txs, ages)[0] * 100)
    discounted = clv.predicted_value(CDNOW, horizon_days=365, x=xs, t_x=txs, age=ages, spend=spend,
                                     yearly_discount=0.10)[0]
    # every step is discounted by at most a year at 10 %, and by at least its first 30 days
    assert plain / 1.10 < discounted < plain / 1.10 ** (30 / 365)


def test_summaries_count_purchase_days() -> None:
    rows = [("A", date(2026, 1, 1), 100.0), ("A", date(2026, 1, 1), 50.0), ("A", date(2026, 1, 11), 30.0),
            ("A", date(2026, 1, 21), 70.0), ("B", date(2026, 1, 31), 20.0), ("A", date(2026, 3, 1), 999.0)]
    a, b = clv.summarise(rows, calibration_end=date(2026, 1, 31))
    # A: purchase days 1, 11 and 21 January (two orders on the 1st count as one day of 150); the March one is later
    assert (a.frequency, a.recency, a.T, a.monetary, a.purchases, a.spend) == (2, 20.0, 30.0, 50.0, 4, 250.0)
    assert (b.frequency, b.recency, b.T, b.monetary) == (0, 0.0, 0.0, 0.0)


def test_too_little_data_is_refused_clearly() -> None:
    few = [clv.Summary(str(i), 1, 5.0, 10.0, 10.0, 2, 20.0) for i in range(clv.MIN_CUSTOMERS - 1)]
    with pytest.raises(clv.NotEnoughData) as raised:
        clv.fit_bgnbd(few)
    assert raised.value.code == "not_enough_data" and raised.value.details["customers"] == clv.MIN_CUSTOMERS - 1
    once = [clv.Summary(str(i), 0, 0.0, 10.0, 0.0, 1, 20.0) for i in range(50)]
    with pytest.raises(clv.NotEnoughData):
        clv.fit_bgnbd(once)
    with pytest.raises(clv.NotEnoughData):
        clv.fit_gamma_gamma(once)
    with pytest.raises(clv.NotEnoughData):
        clv.fit_bgnbd([])


TRUE = clv.BgNbd(r=0.6, alpha=40.0, a=0.7, b=3.0)  # a purchase every ~67 days, 19 % drop out after each purchase


def simulate(count: int, params: clv.BgNbd, *, seed: int) -> list[clv.Summary]:
    """Customers drawn from the BG/NBD process, each observed for 180 to 540 days from their first purchase."""
    rng = np.random.default_rng(seed)
    rates = rng.gamma(params.r, 1 / params.alpha, count)
    drops = rng.beta(params.a, params.b, count)
    ages = rng.uniform(180, 540, count)
    found = []
    for index in range(count):
        moment, x, last = 0.0, 0, 0.0
        while True:
            moment += rng.exponential(1 / rates[index])
            if moment > ages[index]:
                break
            x, last = x + 1, moment
            if rng.random() < drops[index]:
                break
        found.append(clv.Summary(str(index), x, last, float(ages[index]), 0.0, x + 1, 0.0))
    return found


def _standard_errors(params: clv.BgNbd, summaries: list[clv.Summary]) -> np.ndarray:
    """Standard errors of the log-parameters from the observed information (finite-difference Hessian)."""
    x = np.array([s.frequency for s in summaries], dtype=np.float64)
    t_x = np.array([s.recency for s in summaries], dtype=np.float64)
    ages = np.array([s.T for s in summaries], dtype=np.float64)

    def loss(logs: np.ndarray) -> float:
        return -float(np.sum(clv.bgnbd_log_likelihood(clv.BgNbd(*np.exp(logs)), x, t_x, ages)))

    at = np.log([params.r, params.alpha, params.a, params.b])
    step = 1e-3
    hessian = np.zeros((4, 4))
    for i in range(4):
        for j in range(4):
            shifts = [(1, 1), (1, -1), (-1, 1), (-1, -1)]
            values = []
            for si, sj in shifts:
                moved = at.copy()
                moved[i] += si * step
                moved[j] += sj * step
                values.append(loss(moved))
            hessian[i, j] = (values[0] - values[1] - values[2] + values[3]) / (4 * step * step)
    return np.asarray(np.sqrt(np.diag(np.linalg.inv(hessian))))


def test_the_fit_recovers_the_parameters_of_a_known_process() -> None:
    summaries = simulate(4000, TRUE, seed=20260107)
    fitted, log_likelihood = clv.fit_bgnbd(summaries)
    assert log_likelihood < 0
    errors = _standard_errors(fitted, summaries)
    got = np.log([fitted.r, fitted.alpha, fitted.a, fitted.b])
    want = np.log([TRUE.r, TRUE.alpha, TRUE.a, TRUE.b])
    # a maximum-likelihood estimate is within 3 standard errors of the truth 99.7 % of the time for each
    # parameter; the errors of this sample size are about 5 % (r, α) and 15-20 % (a, b, which trade off)
    assert np.all(np.abs(got - want) < 3 * errors), (fitted, errors)
    assert np.all(errors < 0.25)
    # the fitted model predicts what the true one does for the population's next 90 days within 5 %
    assert clv.population_expected_purchases(fitted, 90) == pytest.approx(
        clv.population_expected_purchases(TRUE, 90), rel=0.05)
