"""Flock: portal pages (every layout), block and not-found pages, search-audit
exports and sharing reports.
"""
