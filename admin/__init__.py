"""`hookgate admin`: the event-status ledger, its recorder, the admin API and the console.

It stands above the consumers (it replays from their dead-letter queues) and beside the
gateway, which it never imports: everything it knows about an event arrives as a status
message (`hookgate.status`) or sits on the broker.
"""
