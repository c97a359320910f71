"""CM handles: the inventory of DMI plugins' handles, their module sync, LCM events and trust."""
