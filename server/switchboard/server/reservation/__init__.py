"""Reservation: pools, capacity over time and reservations of it (after OPNFV Promise)."""
