"""Journey writes: definitions and publishing (journeys), enrolment (enrol), the orchestrator's
tick (orchestrator) with its node decisions (nodes) applied in transactions (moves)."""
