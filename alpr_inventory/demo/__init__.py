"""DEMO: local replay servers (Flock portals with Memento headers, Legistar)."""
