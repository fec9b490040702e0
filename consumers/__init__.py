"""Consumer services (handlers, retries, dead-lettering) arrive with issue 3."""
