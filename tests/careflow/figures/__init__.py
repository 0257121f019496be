"""Tests of the district report's query layer and its exports."""
