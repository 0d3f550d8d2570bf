"""Scenario transforms, one module per family, all behind one registry (see registry.py)."""
