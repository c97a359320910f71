"""Allocation: server instances built by a VIM against reservations or free pool capacity."""
