"""STORE: the schema (every table, documented), archive, locks, plate keys,
loaders by kind (records, searches) and what spiders may know of earlier runs.
"""
