"""python -m alpr_inventory.cli"""

from alpr_inventory.cli import cli

cli()
