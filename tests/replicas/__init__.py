"""Replica scenarios (issue 12, "N processes act as one bot"): several ``bridge serve`` processes on one
Redis behind a round-robin proxy (:mod:`~tests.replicas.proxy`), started by :mod:`~tests.replicas.cluster`,
judged by :mod:`~tests.replicas.report` from the Telegram fake's record."""
