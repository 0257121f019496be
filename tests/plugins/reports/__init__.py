"""Tests of the reports plugin: the weekly report process and its stored files."""
