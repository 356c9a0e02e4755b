"""Imported by every benchmark script before JAX: where JAX cannot read one of its JAX_*
environment variables (`JAX_ENABLE_X64=abc`), the script says so in one line and exits 2, as
`jirl`'s commands do (`jirl.JAX_IMPORT_ERROR`), instead of ending in JAX's traceback."""

import sys
from pathlib import Path

# jirl from this checkout, as the scripts import it, installed or not
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jirl  # noqa: E402

if jirl.JAX_IMPORT_ERROR is not None:
    print(f"{Path(sys.argv[0]).name}: error: {jirl.JAX_IMPORT_ERROR}", file=sys.stderr)
    raise SystemExit(2)
