"""`python -m gateway` is `hookgate`."""

from hookgate.cli import main

raise SystemExit(main())
