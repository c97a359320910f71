"""Scheduler: placing VNF changes in time (after ONAP OOF-CMSO)."""
