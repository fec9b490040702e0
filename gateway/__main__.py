"""`python -m gateway` is `hookgate`."""

from gateway.cli import main

raise SystemExit(main())
