"""Predicted customer value: the BG/NBD model of how often customers buy and when they quietly leave (Fader, Hardie
& Lee 2005, "Counting Your Customers the Easy Way"), with the Gamma–Gamma model of how much they spend per purchase
(Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value").

Time is counted in **days**. Each customer is summarised by the purchase days of the calibration period:

* ``x`` (frequency): the number of *repeat* purchase days (distinct days with a purchase, minus the first one);
* ``t_x`` (recency): days from the first purchase day to the last one;
* ``T``: days from the first purchase day to the end of the calibration period;
* ``m_x`` (monetary): the mean spend of the repeat purchase days (0 when ``x = 0``).

The likelihoods are written from the published formulas; scipy supplies the special functions (``gammaln``,
``betaln``, ``hyp2f1``) and the optimiser. docs/analytics.md states every formula.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

from xuyen.errors import XuyenError

FloatArray = NDArray[np.float64]
MIN_CUSTOMERS = 10  # fewer customers than this cannot pin four parameters down
MIN_REPEATERS = 3  # nor can a population where almost nobody came back
LOG_BOUND = 12.0  # parameters are searched for between e^-12 and e^12
DAYS_PER_STEP = 30  # discounting counts in steps of 30 days


class NotEnoughData(XuyenError):
    """Too few customers (or too few who came back) to fit the model."""


@dataclass(frozen=True)
class Summary:
    """One customer's calibration period as the models see it (days)."""

    customer_id: str
    frequency: int
    recency: float
    T: float
    monetary: float
    purchases: int
    spend: float


@dataclass(frozen=True)
class BgNbd:
    """BG/NBD parameters: purchase rates are Gamma(r, alpha) (alpha in days), drop-out probabilities Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGamma:
    """Gamma–Gamma parameters: spend per purchase is Gamma(p, nu) with nu Gamma(q, gamma) across customers."""

    p: float
    q: float
    gamma: float

    @property
    def mean_spend(self) -> float:
        """The population's mean spend per purchase, p·gamma/(q−1) (infinite when q ≤ 1)."""
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else math.inf


def summarise(transactions: Iterable[tuple[str, date, float]], *, calibration_end: date) -> list[Summary]:
    """Per customer, the frequency, recency, T and monetary value of the transactions up to ``calibration_end``
    (included); several purchases on one day count as one purchase day of their summed amount."""
    days: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    counts: dict[str, int] = defaultdict(int)
    for customer_id, day, amount in transactions:
        if day <= calibration_end:
            days[customer_id][day] += amount
            counts[customer_id] += 1
    found = []
    for customer_id in sorted(days):
        spent = days[customer_id]
        ordered = sorted(spent)
        first, last = ordered[0], ordered[-1]
        repeat = [spent[day] for day in ordered[1:]]
        found.append(Summary(customer_id=customer_id, frequency=len(repeat), recency=float((last - first).days),
                             T=float((calibration_end - first).days),
                             monetary=sum(repeat) / len(repeat) if repeat else 0.0, purchases=counts[customer_id],
                             spend=sum(spent.values())))
    return found


def _arrays(summaries: Sequence[Summary]) -> tuple[FloatArray, FloatArray, FloatArray]:
    x = np.array([s.frequency for s in summaries], dtype=np.float64)
    t_x = np.array([s.recency for s in summaries], dtype=np.float64)
    age = np.array([s.T for s in summaries], dtype=np.float64)
    return x, t_x, age


# BG/NBD -----------------------------------------------------------------------------------------------------


def bgnbd_log_likelihood(params: BgNbd, x: FloatArray, t_x: FloatArray, age: FloatArray) -> FloatArray:
    """Each customer's log-likelihood (Fader, Hardie & Lee 2005, equation 6)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    shared = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    alive = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + age)
    repeaters = x > 0
    left = np.full_like(x, -np.inf)
    left[repeaters] = (betaln(a + 1, b + x[repeaters] - 1) - betaln(a, b)
                       - (r + x[repeaters]) * np.log(alpha + t_x[repeaters]))
    return np.asarray(shared + np.logaddexp(alive, left), dtype=np.float64)


def fit_bgnbd(summaries: Sequence[Summary]) -> tuple[BgNbd, float]:
    """The maximum-likelihood BG/NBD parameters and the total log-likelihood; ``NotEnoughData`` when the data
    cannot pin them down."""
    repeaters = sum(1 for s in summaries if s.frequency > 0)
    if len(summaries) < MIN_CUSTOMERS or repeaters < MIN_REPEATERS:
        raise NotEnoughData(
            f"The model needs at least {MIN_CUSTOMERS} customers of whom {MIN_REPEATERS} bought again; "
            f"there are {len(summaries)} customers and {repeaters} bought again.", code="not_enough_data",
            details={"customers": len(summaries), "repeaters": repeaters})
    x, t_x, age = _arrays(summaries)

    def loss(logs: FloatArray) -> float:
        r, alpha, a, b = np.exp(logs)
        value = -float(np.sum(bgnbd_log_likelihood(BgNbd(r, alpha, a, b), x, t_x, age)))
        return value if math.isfinite(value) else 1e300

    start = np.log([1.0, max(1.0, float(np.mean(age))), 1.0, 1.0])
    logs = _optimise(loss, start)
    r, alpha, a, b = (float(value) for value in np.exp(logs))
    return BgNbd(r=r, alpha=alpha, a=a, b=b), -loss(logs)


def _optimise(loss: object, start: FloatArray) -> FloatArray:
    """Nelder–Mead on the logarithms of the parameters (so they stay positive), polished by L-BFGS-B."""
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    first = minimize(loss, start, method="Nelder-Mead", options={"maxiter": 4000, "xatol": 1e-7, "fatol": 1e-9})
    second = minimize(loss, np.clip(first.x, -LOG_BOUND, LOG_BOUND), method="L-BFGS-B", bounds=bounds)
    best = second.x if second.fun <= first.fun else first.x
    return np.asarray(best, dtype=np.float64)


def probability_alive(params: BgNbd, x: FloatArray, t_x: FloatArray, age: FloatArray) -> FloatArray:
    """P(still active at T | x, t_x, T) (Fader, Hardie & Lee 2008 note, equation 2); 1 for customers who never
    bought again."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    odds = np.zeros_like(x)
    repeaters = x > 0
    xr = x[repeaters]
    odds[repeaters] = np.exp(np.log(a) - np.log(b + xr - 1)
                             + (r + xr) * (np.log(alpha + age[repeaters]) - np.log(alpha + t_x[repeaters])))
    return np.asarray(1.0 / (1.0 + odds), dtype=np.float64)


def expected_purchases(params: BgNbd, t: float, x: FloatArray, t_x: FloatArray, age: FloatArray) -> FloatArray:
    """E[purchases in (T, T+t] | x, t_x, T] (Fader, Hardie & Lee 2005, equation 10)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if t <= 0:
        return np.zeros_like(x)
    z = t / (alpha + age + t)
    ratio = np.exp((r + x) * (np.log(alpha + age) - np.log(alpha + age + t)))
    head = (a + b + x - 1) / (a - 1) * (1 - ratio * hyp2f1(r + x, b + x, a + b + x - 1, z))
    return np.asarray(head * probability_alive(params, x, t_x, age), dtype=np.float64)


def population_expected_purchases(params: BgNbd, t: float) -> float:
    """E[X(t)]: purchases a new customer makes in their first ``t`` days (Fader, Hardie & Lee 2005, equation 7)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = t / (alpha + t)
    return float((a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z)))


# Gamma–Gamma ------------------------------------------------------------------------------------------------


def gamma_gamma_log_likelihood(params: GammaGamma, x: FloatArray, m: FloatArray) -> FloatArray:
    """Each repeat customer's log-likelihood of their mean spend ``m`` over ``x`` purchases (Fader & Hardie 2013,
    equation 1)."""
    p, q, gamma = params.p, params.q, params.gamma
    return np.asarray(gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(gamma)
                      + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(gamma + m * x),
                      dtype=np.float64)


def fit_gamma_gamma(summaries: Sequence[Summary]) -> tuple[GammaGamma, float]:
    """The maximum-likelihood Gamma–Gamma parameters from the customers who bought again with a positive spend;
    ``NotEnoughData`` when too few did, or when the fit gives q ≤ 1 (no finite mean spend)."""
    spenders = [s for s in summaries if s.frequency > 0 and s.monetary > 0]
    if len(spenders) < MIN_REPEATERS:
        raise NotEnoughData(f"The spend model needs at least {MIN_REPEATERS} customers who bought again; there are "
                            f"{len(spenders)}.", code="not_enough_data", details={"repeaters": len(spenders)})
    x = np.array([s.frequency for s in spenders], dtype=np.float64)
    m = np.array([s.monetary for s in spenders], dtype=np.float64)
    scale = float(np.mean(m))  # fitted on spend in units of the mean, so the search is the same for ₫ and $

    def loss(logs: FloatArray) -> float:
        p, q, gamma = np.exp(logs)
        value = -float(np.sum(gamma_gamma_log_likelihood(GammaGamma(p, q, gamma), x, m / scale)))
        return value if math.isfinite(value) else 1e300

    logs = _optimise(loss, np.log([1.0, 2.0, 1.0]))
    p, q, gamma = (float(value) for value in np.exp(logs))
    if q <= 1:
        raise NotEnoughData("The spend model found no finite mean spend (q ≤ 1).", code="not_enough_data",
                            details={"q": q})
    log_likelihood = -loss(logs) - float(np.sum(np.log(scale) * np.ones_like(m)))
    return GammaGamma(p=p, q=q, gamma=gamma * scale), log_likelihood


def expected_spend(params: GammaGamma, x: FloatArray, m: FloatArray) -> FloatArray:
    """E[spend per purchase | x, m_x] = (gamma + m_x·x)·p / (p·x + q − 1) (Fader & Hardie 2013, equation 5); the
    population mean p·gamma/(q − 1) for customers who never bought again."""
    p, q, gamma = params.p, params.q, params.gamma
    return np.asarray((gamma + m * x) * p / (p * x + q - 1), dtype=np.float64)


def predicted_value(params: BgNbd, *, horizon_days: int, x: FloatArray, t_x: FloatArray, age: FloatArray,
                    spend: FloatArray, yearly_discount: float = 0.0) -> FloatArray:
    """Expected spend over the next ``horizon_days``: expected purchases × expected spend per purchase. With a
    yearly discount rate, the purchases expected in each 30-day step are discounted to today at the step's end."""
    if yearly_discount <= 0:
        return np.asarray(expected_purchases(params, horizon_days, x, t_x, age) * spend, dtype=np.float64)
    total = np.zeros_like(x)
    before = np.zeros_like(x)
    end = 0
    while end < horizon_days:
        end = min(horizon_days, end + DAYS_PER_STEP)
        upto = expected_purchases(params, end, x, t_x, age)
        total += (upto - before) * spend / (1 + yearly_discount) ** (end / 365)
        before = upto
    return total
