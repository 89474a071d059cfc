"""Collecting office exports into the store."""

from cmo.collect.run import CollectResult, FileReport, ReasonCount, collect

__all__ = ["CollectResult", "FileReport", "ReasonCount", "collect"]
