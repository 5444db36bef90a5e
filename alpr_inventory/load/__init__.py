"""LOAD: the one load path (Store: runs, documents, facts by kind, one refresh of
what derives after a load) and the crawl pipeline that feeds it.
"""
