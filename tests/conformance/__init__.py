"""Conformance suite: the recorded API exchanges replayed against the emulator."""
