"""careflow: durable community-service processes for elders and children on Temporal.

This package is the core: the plugin contract, settings, pure domain models, the database
layer, the CLI and the embedded dev stack. It is kept import-light on purpose: workflow code
imports the pure modules (``careflow.models``, ``careflow.plan``, ``careflow.roles``,
``careflow.search_attributes``) through the sandbox passthrough, so nothing here may open a
connection or read the environment at import time.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
