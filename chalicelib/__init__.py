"""Licence Bridge: Tehran Municipality <-> the national licence portal."""
