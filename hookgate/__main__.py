"""`python -m hookgate` is `hookgate`."""

from hookgate.cli import main

raise SystemExit(main())
