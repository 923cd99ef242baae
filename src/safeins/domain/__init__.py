"""The domain: sectors, regimes, the validated tables (portfolio, accident and hazard histories,
exposure table), the data sets and the synthetic generator. Public objects are re-exported from
:mod:`safeins`."""
