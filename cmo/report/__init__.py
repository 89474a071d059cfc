"""The HTML report: one self-contained page, Finnish or English, with disclosure control."""

from cmo.report.build import Report, build_report

__all__ = ["Report", "build_report"]
