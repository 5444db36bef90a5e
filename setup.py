"""Only for scrapyd-deploy, which builds the Scrapy project's egg with `setup.py bdist_egg`.

The package's metadata is in pyproject.toml (its `scrapy` entry point names the settings module
Scrapyd loads); install with pip, not with this file. The egg carries the Scrapy project
(`crawlers`: spiders, settings, pipelines) and nothing else: Scrapyd runs an egg as a zip file,
where the parsers' data files (data/resolver/...) cannot be read, so each node runs Scrapyd from
an installed alpr-inventory (./scripts/setup) that supplies `alpr_inventory` and `parsers`.
"""

from setuptools import setup
from setuptools.command.bdist_egg import bdist_egg


class ScrapyProjectEgg(bdist_egg):
    """bdist_egg of the `crawlers` packages only (see above)."""

    def run(self) -> None:
        dist = self.distribution
        dist.packages = [p for p in dist.packages or [] if p.split(".")[0] == "crawlers"]
        dist.package_data = {}
        super().run()


setup(cmdclass={"bdist_egg": ScrapyProjectEgg})
