"""Collecting office exports into the store."""

from cmo.collect.fixlist import write_fix_list
from cmo.collect.results import CollectResult, FileReport, FixRow, ReasonCount
from cmo.collect.run import collect

__all__ = ["CollectResult", "FileReport", "FixRow", "ReasonCount", "collect", "write_fix_list"]
