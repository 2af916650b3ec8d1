"""``python -m danvan.agent``: the same as the ``danvan-sign`` command."""

from danvan.agent.cli import main

raise SystemExit(main())
