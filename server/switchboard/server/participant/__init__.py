"""The automation-composition participant protocol: states, phases and participant supervision."""
