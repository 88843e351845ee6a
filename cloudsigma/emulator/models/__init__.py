"""State and behaviour of the emulated API in plain Python (no HTTP, no aggregate).

:mod:`.kernel` holds what every model needs; one module per resource family builds on it.
"""
