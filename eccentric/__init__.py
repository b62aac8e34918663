"""The ``eccentric`` command line (``eccentric.cli``); the library lives in ``particles``,
``analysis`` and ``autoencoder``."""
