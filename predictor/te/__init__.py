"""Predictive traffic engineering judged against the optimum (``vnstitch predictor te-backtest``)."""
