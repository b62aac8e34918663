import sys

from eccentric.cli import main

sys.exit(main())
