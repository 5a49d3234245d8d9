"""Predictive traffic engineering judged against the optimum (``predictor te-backtest``)."""
