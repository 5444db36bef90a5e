"""DERIVE: sharing intervals, answers, changes, agency identity, agreement
history (refreshed once after a load).
"""
