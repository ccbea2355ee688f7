"""Identity's writes, along their seams:

- `scope`: reading what a run resolves (components from seeds, or the whole tenant as Arrow);
- `apply`: resolve and write identity's tables, returning who moved (`resolve_and_apply`, `Outcome`);
- `runs`: what operators start (full rebuilds, un-merge, rules), each handing who moved to the
  caller's `on_moved` so the customers' data follows in the same transaction.

The names below are the package's surface for other apps and entry points.
"""
from identity.services.apply import Outcome, resolve_and_apply
from identity.services.runs import (
           OnMoved,
           customer_unmerge,
           identity_unblock,
    preview_execute,
    preview_queue,
           rules_checked,
           rules_preview,
           rules_update,
           run_execute,
           run_queue,
           run_start,
)

__all__ = ["OnMoved", "Outcome", "customer_unmerge", "identity_unblock", "preview_execute", "preview_queue", "resolve_and_apply", "rules_checked", "rules_preview", "rules_update",
           "run_execute", "run_queue", "run_start"]
