"""The journey simulator (``omni simulate``): realistic multi-channel traffic, seeded.

``world`` derives customers, SKUs, stores and prices from the seed,
``journeys`` what each customer does (pure), ``messages`` what each channel
sends for it, ``send`` posts it through the real connectors over HTTP (never
straight to Kafka), ``pacing`` holds the rate and ``runner`` runs it all with
a progress bar and a summary. ``run(settings, customers, rate, duration,
seed)`` is the blocking entry point; ``simulate`` the same as a coroutine.
"""

from connectors.simulator.journeys import Plan, plan
from connectors.simulator.runner import Summary, run, simulate
from connectors.simulator.world import build

__all__ = ["Plan", "Summary", "build", "plan", "run", "simulate"]
