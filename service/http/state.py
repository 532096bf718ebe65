"""What one app holds between requests: settings, limits, metrics and the loaded collection and pipeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from index import Collection, FootnoteError
from service.answering import Answerer
from service.http.limits import GenerationSlots, RateLimiter
from service.http.metrics import Metrics
from service.settings import Settings


@dataclass(frozen=True)
class Resources:
    """What the service answers from: the collection and the answering pipeline over it."""

    collection: Collection
    answerer: Answerer


ResourcesFactory = Callable[[Settings], Resources]


@dataclass
class AppState:
    """Everything a request needs, made once per app; `resources` is None until the lifespan has loaded them."""

    settings: Settings
    metrics: Metrics = field(default_factory=Metrics)
    resources: Resources | None = None
    # Why loading failed (a corrupt or mismatched store, say): the service stays up, unready, and says so.
    load_error: FootnoteError | None = None
    key_limiter: RateLimiter = field(init=False)
    address_limiter: RateLimiter = field(init=False)
    slots: GenerationSlots = field(init=False)

    def __post_init__(self) -> None:
        self.key_limiter = RateLimiter(self.settings.rate_limit_per_minute)
        self.address_limiter = RateLimiter(self.settings.rate_limit_per_address)
        self.slots = GenerationSlots(
            concurrent=self.settings.max_concurrent_generations,
            queued=self.settings.max_queued_generations,
            timeout_s=self.settings.queue_timeout_s,
            per_holder=self.settings.max_generations_per_address,
        )
