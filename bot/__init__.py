"""costbot: a Slack bot that keeps AI spend explainable and owned."""

__version__ = "0.1.0"
