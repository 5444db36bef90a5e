"""PDF and file plumbing: checks, text, worker processes under time and memory
limits.
"""
