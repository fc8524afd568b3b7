import sys

from liqmon.cli import main

sys.exit(main())
