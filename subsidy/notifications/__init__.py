"""The notification outbox: what a firm is told after a match, delivered by `qinqing notify`."""
