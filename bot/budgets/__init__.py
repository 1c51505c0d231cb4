"""Budgets: the budgets file, periods, checks with forecasts, alerts, acknowledgements and snoozes."""
