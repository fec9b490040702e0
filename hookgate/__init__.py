"""The bottom package: what the gateway, consumers and providers share; it imports none of them."""
