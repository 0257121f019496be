"""Tests of the ``careflow`` command line."""
