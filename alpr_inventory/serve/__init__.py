"""SERVE: Datasette plugin, canned answers, agency lookup, the report and its templates."""
