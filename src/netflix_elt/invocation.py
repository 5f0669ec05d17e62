"""One command's identity: its id, its one clock reading, its target, and what it was asked to do.

Every builder of a command receives the same Invocation, so every node and snapshot of a command
shares one `run_started_at` (dbt's `run_started_at`), and artifacts carry one invocation id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Invocation:
    command: str
    target: str
    args: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    run_started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
