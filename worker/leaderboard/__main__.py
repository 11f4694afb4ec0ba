"""`python -m worker.leaderboard`: run the leaderboard consumer until SIGTERM or Ctrl-C."""

import sys

from worker.leaderboard.consumer import main

sys.exit(main())
