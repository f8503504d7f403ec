"""Commands an operator runs beside pulumi: ``python -m ops doctor`` and ``python -m ops verify``.

Both read the stack's settings the way the program does (``components.settings``) from
``Pulumi.<stack>.yaml``, without the Pulumi CLI: secure (ciphertext) values cannot be
decrypted here, so credentials come from ``ILERT_API_TOKEN``/``LEVEL_API_KEY`` exactly as
``clients.endpoints`` falls back to them. ``doctor`` sends only GETs; ``verify`` sends
one test alert through the wiring and always resolves what it opened.

Exit codes: 0 every check passed, 1 a check failed, 2 the command could not run.
"""
