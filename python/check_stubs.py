"""Checks that the committed stubs in src/tensorwire/v1/ match proto/.

    python python/check_stubs.py          # exit 1 and a diff when they differ
    python python/check_stubs.py --write  # regenerate them

The stubs are committed (not generated when the package is built) so that
``pip install ./python`` needs neither grpcio-tools nor the repository's
``proto/`` directory, which lies outside the package and is not in an sdist.
They are regenerated with the grpcio-tools version pinned below, whose
protobuf gencode version fixes pyproject's ``protobuf`` and ``grpcio`` floors.
"""

from __future__ import annotations

import difflib
import subprocess
import sys
import tempfile
from pathlib import Path

#: The generator; CI installs exactly this version to compare.
GRPCIO_TOOLS = "1.85.1"
HERE = Path(__file__).resolve().parent
PROTO_ROOT = HERE.parent / "proto"
PROTO = "tensorwire/v1/tensorwire.proto"
STUBS = HERE / "src" / "tensorwire" / "v1"
FILES = ["tensorwire_pb2.py", "tensorwire_pb2.pyi", "tensorwire_pb2_grpc.py"]


def generate(out: Path) -> None:
    """Runs protoc (from grpcio-tools) into ``out``."""
    from importlib.metadata import version

    found = version("grpcio-tools")
    if found != GRPCIO_TOOLS:
        sys.exit(f"grpcio-tools {found} is installed; the stubs are made by {GRPCIO_TOOLS}")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"--python_out={out}",
            f"--pyi_out={out}",
            f"--grpc_python_out={out}",
            str(PROTO_ROOT / PROTO),
        ],
        check=True,
    )


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        fresh = Path(tmp) / "tensorwire" / "v1"
        if "--write" in sys.argv:
            for name in FILES:
                (STUBS / name).write_text((fresh / name).read_text())
            print(f"wrote {', '.join(FILES)} into {STUBS}")
            return 0
        differ = False
        for name in FILES:
            new = (fresh / name).read_text().splitlines(keepends=True)
            old = (STUBS / name).read_text().splitlines(keepends=True)
            if new != old:
                differ = True
                sys.stdout.writelines(
                    difflib.unified_diff(old, new, f"committed/{name}", f"from-proto/{name}")
                )
    if differ:
        print(f"\nthe stubs differ from {PROTO}: run python python/check_stubs.py --write")
        return 1
    print(f"stubs match {PROTO}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
