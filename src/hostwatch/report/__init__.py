"""The monitor report: HTML (self-contained) and PDF from the same template, plus exports."""
