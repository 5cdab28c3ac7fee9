"""The `wave` command: submit a story, follow its run, answer escalations, inspect, replay, operate."""
