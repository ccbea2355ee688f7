"""Segment's limits, which SDKs already respect: 32 KB per call, 500 KB per batch request."""
MAX_EVENT_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_MESSAGE_ID = 255
CALL_TYPES = ("identify", "track", "page", "screen", "group", "alias")
MAX_TRAIT_KEY = 128  # characters in a trait's name (a profile key, shown and edited in the console)
