"""Agreements: 287(g) MOAs and DMV agreements (PDF), ICE's 287(g) spreadsheets,
Vigilant sharing reports.
"""
