"""Messaging's writes: channels, templates, topics, the outbox and its drain."""
