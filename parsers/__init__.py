"""Pure parsers: bytes or paths in, records out. No Scrapy, no database."""

import warnings

# openpyxl warns about every Excel extension it does not read (data validation, slicers);
# the cells we read are unaffected, and the warning buries real output in imports of many files.
warnings.filterwarnings("ignore", message="Unknown extension is not supported",
                        category=UserWarning, module="openpyxl")
