"""Statistical models fitted to exposure and accident data: frequency GLMs, severity models, the
accident model, and credibility. Public objects are re-exported from :mod:`safeins`."""
