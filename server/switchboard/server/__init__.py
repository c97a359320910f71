"""The Switchboard server."""
