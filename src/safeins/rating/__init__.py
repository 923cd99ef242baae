"""Rating: premium principles and loadings, tariffs (差别费率), floating rules (浮动费率),
bonus–malus and experience rating. Public objects are re-exported from :mod:`safeins`."""
