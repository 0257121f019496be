"""Tests of the wanbailin district plugin."""
