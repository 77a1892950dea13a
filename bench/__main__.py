"""``python -m bench`` runs every benchmark; ``python -m bench geofence`` runs one.

Options after a benchmark's name go to it: ``python -m bench ingest --duration 5``.
"""

import importlib
import sys

from bench import BENCHMARKS


def main(argv: list[str]) -> int:
    first = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    names, options = argv[:first], argv[first:]
    if options and len(names) != 1:
        print("options go with exactly one benchmark, e.g. python -m bench ingest --runs 1")
        return 2
    names = names or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
        return 2
    for name in names:
        module = importlib.import_module(BENCHMARKS[name])
        module.main(options) if options else module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
