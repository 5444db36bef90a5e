"""RESOLVE (not parse): organisation names to agencies, state policies and
DMV access, from data/.
"""
