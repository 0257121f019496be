"""Personal data: masking, consent and keyed pseudonyms (PIPL arts. 28–31, 51).

Each concern is a module of its own; import from the module (``careflow.privacy.masking``,
``careflow.privacy.consent``, ``careflow.privacy.pseudonyms``).
"""

__all__: list[str] = []
