"""Tests of the xinghualing district plugin."""
