import sys

try:
    from twin.cli import main
except KeyboardInterrupt:  # Ctrl-C while the libraries load: no traceback either
    print("interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
