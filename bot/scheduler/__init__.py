"""The worker: scheduled budget checks, rule evaluation, digests and outbox retries on APScheduler 3.x."""
